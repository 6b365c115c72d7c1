{#- Activated = the activation event (var activation_event) occurred between sign-up and
    activation_window_days after it, inclusive; events before sign-up do not count. -#}
with

users as (select * from {{ ref('stg_app__users') }}),

events as (select * from {{ ref('fct_events') }}),

user_event_summary as (

    select
        user_id,
        count(*) as events,
        min(occurred_at) as first_seen_at,
        max(occurred_at) as last_seen_at
    from events
    where user_id is not null
    group by user_id

),

activations as (

    select
        users.user_id,
        min(events.occurred_at) as activated_at
    from users
    inner join events
        on
            users.user_id = events.user_id
            and events.event_name = '{{ var("activation_event") }}'
            and users.created_at <= events.occurred_at
            and events.occurred_at
            <= {{ dbt.dateadd('day', var('activation_window_days'), 'users.created_at') }}
    group by users.user_id

),

users_summarised as (

    select
        users.user_id,
        users.customer_id,
        coalesce(user_event_summary.events, 0) as events,
        activations.activated_at is not null as is_activated,
        cast(users.created_at as date) as created_date,
        cast({{ dbt.date_trunc('month', 'users.created_at') }} as date) as created_month_start_date,
        users.created_at,
        user_event_summary.first_seen_at,
        user_event_summary.last_seen_at,
        activations.activated_at
    from users
    left join user_event_summary
        on users.user_id = user_event_summary.user_id
    left join activations
        on users.user_id = activations.user_id

)

select * from users_summarised
