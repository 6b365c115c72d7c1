{#- The body of a request rollup mart (fct_api_requests_5min / _hourly / _daily): the
    request KPIs per service, endpoint and bucket `bucket_seconds` long. With
    `bucket_start` (an expression over requested_at) the rows are keyed by bucket_date
    and bucket_start; without it the bucket is the request date (a daily rollup, keyed by
    request_date). Each bucket is computed from the request fact itself, never from a
    finer rollup: percentiles cannot be re-aggregated. Incremental runs rebuild whole
    days (requests_in_scope), so percentiles stay exact. -#}
{% macro api_requests_rollup(bucket_seconds, bucket_start=none) -%}
{%- set cutoff = opsmetrics.incremental_load_cutoff('last_loaded_at') -%}
{%- set bucket_columns = ['bucket_date', 'bucket_start'] if bucket_start else ['request_date'] -%}
with

{{ opsmetrics.requests_in_scope(cutoff) }},
{%- if bucket_start %}

requests_bucketed as (

    select
        *,
        request_date as bucket_date,
        {{ bucket_start }} as bucket_start
    from requests_in_scope

),
{%- endif %}

requests_ranked as (

    {{ opsmetrics.ranked_for_percentiles(
        'requests_bucketed' if bucket_start else 'requests_in_scope',
        'response_time_ms',
        ['service', 'endpoint'] + bucket_columns
    ) }}

),

aggregated as (

    select
        service,
        endpoint,
        {{ opsmetrics.api_request_kpis(bucket_seconds) }},
        {{ bucket_columns | join(',\n        ') }},
        max(_loaded_at) as last_loaded_at
    from requests_ranked
    group by
        service,
        endpoint,
        {{ bucket_columns | join(',\n        ') }}

),

percentiles_split as (

    select
        service,
        endpoint,
        {{ opsmetrics.api_request_kpi_columns() }},
        {{ bucket_columns | join(',\n        ') }},
        last_loaded_at
    from aggregated

)

select * from percentiles_split
{%- endmacro %}
