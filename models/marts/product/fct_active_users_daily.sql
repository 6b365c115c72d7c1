{#- A user counts towards the weekly (monthly) active users of day d when one of their
    active days a has a <= d < a + 7 (30). Each active day opens such a span, cut short at
    the user's next active day, so a user's spans never overlap: the users counted on a
    day are the spans opened minus the spans closed up to it, a running sum over the
    days. Every user-active-day is read once, instead of being joined to the 30 days it
    counts for and counted distinct (30 rows per user-day, the whole history each run). -#}
with

events as (select * from {{ ref('fct_events') }}),

user_active_days as (

    select distinct
        user_id,
        occurred_date as activity_date
    from events
    where user_id is not null

),

activity_spans as (

    select
        activity_date,
        lead(activity_date) over (
            partition by user_id order by activity_date
        ) as next_activity_date
    from user_active_days

),

{# A span ends (the user stops counting) on the earlier of the window's end and the
   user's next active day, where the next span takes over. -#}
span_ends as (

    select
        activity_date,
        case
            when
                next_activity_date is null
                or next_activity_date > {{ dbt.dateadd('day', 7, 'activity_date') }}
                then cast({{ dbt.dateadd('day', 7, 'activity_date') }} as date)
            else next_activity_date
        end as weekly_end_date,
        case
            when
                next_activity_date is null
                or next_activity_date > {{ dbt.dateadd('day', 30, 'activity_date') }}
                then cast({{ dbt.dateadd('day', 30, 'activity_date') }} as date)
            else next_activity_date
        end as monthly_end_date
    from activity_spans

),

{# +1 on the day a span opens, -1 on the day after its last day. -#}
span_changes as (

    select
        activity_date as change_date,
        1 as daily_change,
        1 as weekly_change,
        1 as monthly_change
    from span_ends
    union all
    select
        weekly_end_date as change_date,
        0 as daily_change,
        -1 as weekly_change,
        0 as monthly_change
    from span_ends
    union all
    select
        monthly_end_date as change_date,
        0 as daily_change,
        0 as weekly_change,
        -1 as monthly_change
    from span_ends

),

changes_per_day as (

    select
        change_date,
        sum(daily_change) as daily_active_users,
        sum(weekly_change) as weekly_change,
        sum(monthly_change) as monthly_change
    from span_changes
    group by change_date

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
        cast(coalesce(changes_per_day.daily_active_users, 0) as {{ dbt.type_bigint() }})
            as daily_active_users,
        cast(sum(coalesce(changes_per_day.weekly_change, 0)) over (
            order by days.activity_date rows between unbounded preceding and current row
        ) as {{ dbt.type_bigint() }}) as weekly_active_users,
        cast(sum(coalesce(changes_per_day.monthly_change, 0)) over (
            order by days.activity_date rows between unbounded preceding and current row
        ) as {{ dbt.type_bigint() }}) as monthly_active_users
    from days
    left join changes_per_day
        on days.activity_date = changes_per_day.change_date

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
