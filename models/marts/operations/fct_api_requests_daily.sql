{{
    config(
        materialized='incremental',
        incremental_strategy=opsmetrics.incremental_strategy(),
        unique_key='request_date',
        partition_by=opsmetrics.incremental_partition_by('request_date'),
        on_schema_change='fail',
    )
}}

{% set cutoff = opsmetrics.incremental_load_cutoff('last_loaded_at') %}
-- depends_on: {{ ref('base_platform__api_requests') }}

{# Incremental runs rebuild whole days: every bucket of a day holding a re-loaded
   request is recomputed from the request fact, so percentiles stay exact. #}
with

requests as (

    select * from {{ ref('fct_api_requests') }}

),

{%- if cutoff %}

reloaded_dates as (

    {{ opsmetrics.reloaded_request_dates(cutoff) }}

),
{%- endif %}

requests_in_scope as (

    select * from requests
    {%- if cutoff %}
    where request_date in (select reloaded_dates.request_date from reloaded_dates)
    {%- endif %}

),

aggregated as (

    select
        service,
        endpoint,
        {{ opsmetrics.api_request_kpis(86400) }},
        request_date,
        max(_loaded_at) as last_loaded_at
    from requests_in_scope
    group by
        service,
        endpoint,
        request_date

)

select * from aggregated
