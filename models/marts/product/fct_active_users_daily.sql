{#- Each user-active-day is joined to the 30 spine days it counts for (the day itself
    and the 29 after), so rolling distinct counts need no user x day cartesian product. -#}
with

events as (select * from {{ ref('fct_events') }}),

user_active_days as (

    select distinct
        user_id,
        occurred_date as activity_date
    from events
    where user_id is not null

),

day_bounds as (

    select
        min(activity_date) as first_date,
        max(activity_date) as last_date
    from user_active_days

),

days as (

    select cast(day_series.day_at as date) as activity_date
    from day_bounds
    {{ opsmetrics.date_series(
        'day_bounds.first_date',
        'day_bounds.last_date',
        'day',
        'day_series',
        'day_at',
    ) }}

),

days_counted as (

    select
        days.activity_date,
        count(distinct case
            when user_active_days.activity_date = days.activity_date
                then user_active_days.user_id
        end) as daily_active_users,
        count(distinct case
            when user_active_days.activity_date > {{ dbt.dateadd('day', -7, 'days.activity_date') }}
                then user_active_days.user_id
        end) as weekly_active_users,
        count(distinct user_active_days.user_id) as monthly_active_users
    from days
    left join user_active_days
        on
            days.activity_date >= user_active_days.activity_date
            and user_active_days.activity_date
            > {{ dbt.dateadd('day', -30, 'days.activity_date') }}
    group by days.activity_date

),

stickiness_computed as (

    select
        daily_active_users,
        weekly_active_users,
        monthly_active_users,
        cast(daily_active_users as {{ opsmetrics.type_double() }})
        / nullif(monthly_active_users, 0) as stickiness_ratio,
        activity_date
    from days_counted

)

select * from stickiness_computed
