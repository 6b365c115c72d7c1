{{ config(opsmetrics.deleted_then_appended_config([
    "{{ opsmetrics.record_test_window_build() }}",
    "{{ opsmetrics.delete_reloaded_requests() }}",
])) }}

{%- set cutoff = opsmetrics.incremental_load_cutoff('_loaded_at') %}

{#- Staging already keeps each request's latest valid version; an incremental run reads
    the staged rows loaded since the cutoff. The pre-hook has already deleted every
    request with a version loaded since then, so rows are appended (a delete+insert
    would scan the whole table a second time for ids that are gone). -#}
-- depends_on: {{ ref('base_platform__api_requests') }}

with

requests as (

    select * from {{ ref('stg_platform__api_requests') }}
    {%- if cutoff %}
    where _loaded_at >= {{ cutoff }}
    {%- endif %}

),

final as (

    select
        request_id,
        customer_id,
        service,
        endpoint,
        http_method,
        cast(status_code as integer) as status_code,
        response_time_ms,
        status_code >= 500 as is_server_error,
        status_code >= 400 and status_code < 500 as is_client_error,
        cast(requested_at as date) as request_date,
        requested_at,
        _loaded_at
    from requests

)

select * from final
