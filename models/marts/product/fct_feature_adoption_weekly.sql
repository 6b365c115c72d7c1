{#- The weekly twin of fct_feature_adoption_monthly over ISO weeks (Monday to Sunday, UTC).
    Active customers are those with MRR > 0 at the end of the week's last measured day (the
    Sunday, or the as-of date for the week in progress); a customer adopted a feature in a
    week when any of its users' events named that feature that week. Rows cover every
    feature ever seen x every week from the first to the last week with events
    (macro feature_adoption_by_period, shared with the monthly twin). -#}
with

events as (select * from {{ ref('fct_events') }}),

customer_days as (select * from {{ ref('fct_customer_mrr_daily') }}),

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

active_customer_periods as (

    select
        customer_days_weekly.customer_id,
        customer_days_weekly.week_start_date as period_start_date
    from customer_days_weekly
    inner join week_measured_dates
        on
            customer_days_weekly.week_start_date = week_measured_dates.week_start_date
            and customer_days_weekly.mrr_date = week_measured_dates.measured_date
    where customer_days_weekly.is_active

),

{{ opsmetrics.feature_adoption_by_period('week') }},

final as (

    select
        feature_name,
        active_customers,
        adopting_customers,
        feature_adoption_rate,
        period_start_date as week_start_date
    from adoption_computed

)

select * from final
