{{ config(opsmetrics.versions_replaced_config()) }}
{#- stg_platform__api_requests's `unique` test reads this build's new window. #}
{{ config(pre_hook="{{ opsmetrics.record_test_window_build() }}") }}

{%- set cutoff = opsmetrics.incremental_load_cutoff('_loaded_at') %}

{#- One pass over raw: typing, the row rules, the duplicate rank and the quarantine
    split happen here and nowhere else. An incremental run re-reads every version of each
    request with a version loaded since the cutoff (source_by_reloaded_keys), so the rank over
    them is the rank over the whole raw table and replaces their rows by version_key.
    The quarantine rules are row-level, so ranking after them gives the same rows as
    ranking first: the latest copy is kept and judged, an older good copy never replaces
    a bad latest one. The raw row's JSON is built only for rows that break a rule. -#}
with

{{ opsmetrics.source_by_reloaded_keys(
    source('platform', 'api_requests'), 'request_id', cutoff
) }},

typed as (

    select
        nullif(trim(request_id), '') as request_id,
        lower(nullif(trim(service), '')) as service,
        nullif(trim(endpoint), '') as endpoint,
        upper(nullif(trim(method), '')) as http_method,
        nullif(trim(customer_id), '') as customer_id,
        status_code,
        response_time_ms,
        {{ opsmetrics.parse_timestamp_utc('requested_at') }} as requested_at,
        nullif(trim(requested_at), '') as requested_at_text,
        _loaded_at,
        nullif(trim(request_id), '') as record_key,
        {{ opsmetrics.row_as_value('source') }} as raw_row
    from source

),

validated as (

    select
        *,
        case
            when
                request_id is null or service is null or endpoint is null
                or http_method is null or status_code is null or response_time_ms is null
                or requested_at_text is null
                then 'null_required_field'
            {{ opsmetrics.load_and_time_rules('requested_at', ['response_time_ms']) }}
            when response_time_ms < 0 or status_code < 100 or status_code > 599
                then 'out_of_range_value'
            when response_time_ms > {{ var('max_plausible_latency_ms') }}
                then 'implausible_value'
        end as quarantine_reason
    from typed

),

{{ opsmetrics.judged_versions(
    'validated',
    ['request_id'],
    'api_requests',
    ['request_id', 'service', 'endpoint', 'http_method', 'customer_id', 'status_code',
     'response_time_ms', 'requested_at', 'requested_at_text', '_loaded_at', 'record_key',
     'quarantine_reason'],
) }}

select * from final
