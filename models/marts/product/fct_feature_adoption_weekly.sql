{#- The weekly twin of fct_feature_adoption_monthly over ISO weeks (Monday to Sunday, UTC).
    Active customers are those with MRR > 0 at the end of the week's last measured day (the
    Sunday, or the as-of date for the week in progress); a customer adopted a feature in a
    week when any of its users' events named that feature that week. Rows cover every
    feature ever seen x every week from the first to the last week with events. -#}
with

events as (select * from {{ ref('fct_events') }}),

customer_days as (select * from {{ ref('fct_customer_mrr_daily') }}),

feature_customer_weeks as (

    select distinct
        feature_name,
        customer_id,
        cast({{ dbt.date_trunc('week', 'occurred_date') }} as date) as week_start_date
    from events
    where feature_name is not null and customer_id is not null

),

features as (

    select distinct feature_name from feature_customer_weeks

),

week_bounds as (

    select
        cast({{ dbt.date_trunc('week', 'min(occurred_date)') }} as date) as first_week_start_date,
        cast({{ dbt.date_trunc('week', 'max(occurred_date)') }} as date) as last_week_start_date
    from events

),

customer_days_weekly as (

    select
        customer_id,
        is_active,
        mrr_date,
        cast({{ dbt.date_trunc('week', 'mrr_date') }} as date) as week_start_date
    from customer_days

),

week_measured_dates as (

    select
        week_start_date,
        max(mrr_date) as measured_date
    from customer_days_weekly
    group by week_start_date

),

active_customer_weeks as (

    select
        customer_days_weekly.customer_id,
        customer_days_weekly.week_start_date
    from customer_days_weekly
    inner join week_measured_dates
        on
            customer_days_weekly.week_start_date = week_measured_dates.week_start_date
            and customer_days_weekly.mrr_date = week_measured_dates.measured_date
    cross join week_bounds
    where
        customer_days_weekly.is_active
        and customer_days_weekly.week_start_date
        between week_bounds.first_week_start_date and week_bounds.last_week_start_date

),

feature_weeks_counted as (

    select
        features.feature_name,
        count(*) as active_customers,
        count(feature_customer_weeks.customer_id) as adopting_customers,
        active_customer_weeks.week_start_date
    from active_customer_weeks
    cross join features
    left join feature_customer_weeks
        on
            features.feature_name = feature_customer_weeks.feature_name
            and active_customer_weeks.customer_id = feature_customer_weeks.customer_id
            and active_customer_weeks.week_start_date = feature_customer_weeks.week_start_date
    group by features.feature_name, active_customer_weeks.week_start_date

),

adoption_computed as (

    select
        feature_name,
        active_customers,
        adopting_customers,
        cast(adopting_customers as {{ opsmetrics.type_double() }}) / active_customers
            as feature_adoption_rate,
        week_start_date
    from feature_weeks_counted

)

select * from adoption_computed
