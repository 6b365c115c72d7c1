with

source as (

    select * from {{ source('platform', 'scaling_events') }}

),

typed as (

    select
        nullif(trim(event_id), '') as event_id,
        lower(nullif(trim(service), '')) as service,
        lower(nullif(trim(direction), '')) as direction,
        instances_before,
        instances_after,
        {{ opsmetrics.parse_timestamp_utc('triggered_at') }} as triggered_at,
        nullif(trim(triggered_at), '') as triggered_at_text,
        {{ opsmetrics.parse_timestamp_utc('capacity_ready_at') }} as capacity_ready_at,
        nullif(trim(capacity_ready_at), '') as capacity_ready_at_text,
        _loaded_at,
        nullif(trim(event_id), '') as record_key,
        {{ opsmetrics.row_to_json('source') }} as raw_record
    from source

),

deduplicated as (

    select
        *,
        {{ opsmetrics.duplicate_rank(['event_id'], 'scaling_events') }} as duplicate_rank
    from typed

),

validated as (

    select
        *,
        case
            when
                event_id is null or service is null or direction is null
                or instances_before is null or instances_after is null
                or triggered_at_text is null or capacity_ready_at_text is null
                then 'null_required_field'
            when _loaded_at is null then 'missing_loaded_at'
            when
                triggered_at is null or capacity_ready_at is null
                then 'unparseable_timestamp'
            when
                {{ opsmetrics.is_after_load('triggered_at') }}
                or {{ opsmetrics.is_after_load('capacity_ready_at') }}
                then 'future_timestamp'
            when
                instances_before < 0 or instances_after < 0
                or capacity_ready_at < triggered_at
                then 'out_of_range_value'
            when
                direction not in ('up', 'down')
                or (direction = 'up' and instances_after <= instances_before)
                or (direction = 'down' and instances_after >= instances_before)
                then 'invalid_value'
        end as quarantine_reason
    from deduplicated

)

select * from validated
