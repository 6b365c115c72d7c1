{#- An event keeps its own user_id; an anonymous event takes the user its anonymous_id
    was (first) identified as, whether it happened before or after the identification. -#}
with

events as (select * from {{ ref('stg_product__events') }}),

identity_map as (select * from {{ ref('int_identity_map') }}),

users as (select * from {{ ref('stg_app__users') }}),

events_resolved as (

    select
        events.event_id,
        events.anonymous_id,
        coalesce(events.user_id, identity_map.user_id) as user_id,
        users.customer_id,
        events.event_name,
        events.event_object,
        events.event_action,
        events.feature_name,
        case
            when events.user_id is not null then 'event'
            when identity_map.user_id is not null then 'identity_map'
            else 'anonymous'
        end as identity_source,
        coalesce(events.user_id, identity_map.user_id) is not null as is_identified,
        cast(events.occurred_at as date) as occurred_date,
        events.occurred_at,
        events.received_at
    from events
    left join identity_map
        on events.anonymous_id = identity_map.anonymous_id
    left join users
        on coalesce(events.user_id, identity_map.user_id) = users.user_id

)

select * from events_resolved
