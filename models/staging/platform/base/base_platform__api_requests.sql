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

deduplicated as (

    select
        *,
        {{ opsmetrics.duplicate_rank(['request_id']) }} as duplicate_rank
    from typed

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
            when requested_at is null then 'unparseable_timestamp'
            when {{ opsmetrics.is_after_load('requested_at') }} then 'future_timestamp'
            when response_time_ms < 0 or status_code < 100 or status_code > 599
                then 'out_of_range_value'
        end as quarantine_reason
    from deduplicated

)

select * from validated
