{#- A view listing every outage for analysis. The uptime marts find outages themselves
    (identify_outages over the checks they read), because an incremental run reads only a
    slice of the checks; as a table this would be a full rebuild on every run. -#}
{{ config(materialized='view') }}

with

checks as (

    select * from {{ ref('stg_platform__health_checks') }}

),

{{ opsmetrics.identify_outages('checks') }}

select * from outages_identified
