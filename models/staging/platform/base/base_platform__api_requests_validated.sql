{#- Every raw request row, typed and checked against the row rules, NOT deduplicated: no
    window over the whole table, so a filter on _loaded_at reaches the raw scan. The
    incremental request fact reads new loads from here; base_platform__api_requests adds
    the duplicate rank for staging and quarantine. A view, unlike the rest of staging:
    as a table every incremental run would first copy the whole raw table again. -#}
{{ config(materialized='view') }}

with

source as (

    select * from {{ source('platform', 'api_requests') }}

),

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
        {{ opsmetrics.row_to_json('source') }} as raw_record
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
            when _loaded_at is null then 'missing_loaded_at'
            when {{ opsmetrics.is_non_finite('response_time_ms') }} then 'non_finite_number'
            when requested_at is null then 'unparseable_timestamp'
            when {{ opsmetrics.is_after_load('requested_at') }} then 'future_timestamp'
            when response_time_ms < 0 or status_code < 100 or status_code > 599
                then 'out_of_range_value'
            when response_time_ms > {{ var('max_plausible_latency_ms') }}
                then 'implausible_value'
        end as quarantine_reason
    from typed

)

select * from validated
