{#- One row per sign-up month from the first to the last month with a sign-up; a month
    without sign-ups has 0 new users. Growth is null when the previous month had none. -#}
{%- set double = opsmetrics.type_double() %}
with

users as (select * from {{ ref('dim_users') }}),

month_bounds as (

    select
        min(created_month_start_date) as first_month_start_date,
        max(created_month_start_date) as last_month_start_date
    from users

),

months as (

    select cast(month_series.month_start_at as date) as month_start_date
    from month_bounds
    {{ opsmetrics.date_series(
        'month_bounds.first_month_start_date',
        'month_bounds.last_month_start_date',
        'month',
        'month_series',
        'month_start_at',
    ) }}

),

months_counted as (

    select
        months.month_start_date,
        count(users.user_id) as new_users,
        count(case when users.is_activated then users.user_id end) as activated_users
    from months
    left join users
        on months.month_start_date = users.created_month_start_date
    group by months.month_start_date

),

adoption_computed as (

    select
        new_users,
        lag(new_users) over (order by month_start_date) as previous_month_new_users,
        cast(
            new_users - lag(new_users) over (order by month_start_date) as {{ double }}
        )
        / nullif(lag(new_users) over (order by month_start_date), 0) as new_users_growth_rate,
        activated_users,
        cast(activated_users as {{ double }})
        / nullif(new_users, 0) as activation_rate,
        month_start_date
    from months_counted

)

select * from adoption_computed
