{#- Every outage, for fct_incidents and analysis. The uptime marts find outages themselves
    (identify_outages over the checks they read), because an incremental run reads only a
    slice of the checks. A table, rebuilt in full on every run: as a view, fct_incidents
    and each of its three tests computed it again, four times per build (docs/decisions.md,
    Issue 13 session 9). -#}

with

checks as (

    select * from {{ ref('stg_platform__health_checks') }}

),

{{ opsmetrics.identify_outages('checks') }}

select * from outages_identified
