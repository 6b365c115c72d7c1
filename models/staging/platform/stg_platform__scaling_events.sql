with

scaling_events as (

    select * from {{ ref('base_platform__scaling_events') }}
    where duplicate_rank = 1 and quarantine_reason is null

),

final as (

    select
        event_id,
        service,
        direction,
        cast(instances_before as integer) as instances_before,
        cast(instances_after as integer) as instances_after,
        triggered_at,
        capacity_ready_at,
        _loaded_at
    from scaling_events

)

select * from final
