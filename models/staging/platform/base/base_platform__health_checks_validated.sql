{#- Every raw health checks row, typed and checked against the row rules, NOT
    deduplicated: no window over the whole table, so the incremental operations marts
    can read the versions of a few days; base_platform__health_checks adds the duplicate
    rank for staging and quarantine. A view, unlike the rest of staging: as a table
    every incremental run would first copy the whole raw table again. -#}
{{ config(materialized='view') }}

with

source as (

    select * from {{ source('platform', 'health_checks') }}

),

typed as (

    select
        nullif(trim(check_id), '') as check_id,
        lower(nullif(trim(service), '')) as service,
        response_time_ms,
        is_up,
        {{ opsmetrics.parse_timestamp_utc('checked_at') }} as checked_at,
        nullif(trim(checked_at), '') as checked_at_text,
        _loaded_at,
        nullif(trim(check_id), '') as record_key,
        {{ opsmetrics.row_to_json('source') }} as raw_record
    from source

),

validated as (

    select
        *,
        case
            when
                check_id is null or service is null or is_up is null
                or response_time_ms is null or checked_at_text is null
                then 'null_required_field'
            when _loaded_at is null then 'missing_loaded_at'
            when {{ opsmetrics.is_non_finite('response_time_ms') }} then 'non_finite_number'
            when checked_at is null then 'unparseable_timestamp'
            when {{ opsmetrics.is_after_load('checked_at') }} then 'future_timestamp'
            when response_time_ms < 0 then 'out_of_range_value'
            when response_time_ms > {{ var('max_plausible_latency_ms') }}
                then 'implausible_value'
        end as quarantine_reason
    from typed

)

select * from validated
