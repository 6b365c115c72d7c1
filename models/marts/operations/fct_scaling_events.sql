{#- Under-provisioned time counts each second once per service: a scale-up starting while
    an earlier one of the same service is still waiting for capacity only adds the time
    after that earlier one's capacity was ready. -#}
with

scaling_events as (select * from {{ ref('stg_platform__scaling_events') }}),

response_timed as (

    select
        *,
        cast(
            {{ opsmetrics.milliseconds_between('triggered_at', 'capacity_ready_at') }}
            as {{ opsmetrics.type_double() }}
        ) / 1000 as response_seconds
    from scaling_events

),

scale_ups_sequenced as (

    select
        event_id,
        triggered_at,
        capacity_ready_at,
        max(capacity_ready_at) over (
            partition by service order by triggered_at, event_id
            rows between unbounded preceding and 1 preceding
        ) as earlier_capacity_ready_at
    from scaling_events
    where direction = 'up'

),

scale_ups_waits as (

    select
        event_id,
        case
            when earlier_capacity_ready_at > triggered_at then earlier_capacity_ready_at
            else triggered_at
        end as wait_started_at,
        capacity_ready_at
    from scale_ups_sequenced

),

scale_ups_under_provisioned as (

    select
        event_id,
        case
            when wait_started_at >= capacity_ready_at then 0
            else cast(
                    {{ opsmetrics.milliseconds_between('wait_started_at', 'capacity_ready_at') }}
                    as {{ opsmetrics.type_double() }}
                ) / 1000
        end as under_provisioned_seconds
    from scale_ups_waits

),

final as (

    select
        response_timed.event_id,
        response_timed.service,
        response_timed.direction,
        response_timed.instances_before,
        response_timed.instances_after,
        response_timed.response_seconds,
        scale_ups_under_provisioned.under_provisioned_seconds,
        case
            when response_timed.direction = 'up'
                then response_timed.response_seconds
                    <= {{ var('scale_up_response_target_seconds') }}
        end as is_within_target,
        cast(response_timed.triggered_at as date) as triggered_date,
        response_timed.triggered_at,
        response_timed.capacity_ready_at
    from response_timed
    left join scale_ups_under_provisioned
        on response_timed.event_id = scale_ups_under_provisioned.event_id

)

select * from final
