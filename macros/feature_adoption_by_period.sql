{#- The CTEs shared by fct_feature_adoption_monthly and fct_feature_adoption_weekly: for
    every feature ever seen x every `period` ('month' | 'week') from the first to the last
    one with events, the active customers and those of them that used the feature. Reads
    the CTEs `events` (fct_events) and `active_customer_periods` (customer_id,
    period_start_date: customers active at the period's measured day), which the model
    defines; ends on the CTE `adoption_computed`. -#}
{% macro feature_adoption_by_period(period) -%}
feature_customer_periods as (

    select distinct
        feature_name,
        customer_id,
        cast({{ dbt.date_trunc(period, 'occurred_date') }} as date) as period_start_date
    from events
    where feature_name is not null and customer_id is not null

),

features as (

    select distinct feature_name from feature_customer_periods

),

period_bounds as (

    select
        cast({{ dbt.date_trunc(period, 'min(occurred_date)') }} as date) as first_period_start_date,
        cast({{ dbt.date_trunc(period, 'max(occurred_date)') }} as date) as last_period_start_date
    from events

),

active_customer_periods_in_bounds as (

    select
        active_customer_periods.customer_id,
        active_customer_periods.period_start_date
    from active_customer_periods
    cross join period_bounds
    where
        active_customer_periods.period_start_date
        between period_bounds.first_period_start_date and period_bounds.last_period_start_date

),

feature_periods_counted as (

    select
        features.feature_name,
        count(*) as active_customers,
        count(feature_customer_periods.customer_id) as adopting_customers,
        active_customer_periods_in_bounds.period_start_date
    from active_customer_periods_in_bounds
    cross join features
    left join feature_customer_periods
        on
            features.feature_name = feature_customer_periods.feature_name
            and active_customer_periods_in_bounds.customer_id = feature_customer_periods.customer_id
            and active_customer_periods_in_bounds.period_start_date
            = feature_customer_periods.period_start_date
    group by features.feature_name, active_customer_periods_in_bounds.period_start_date

),

adoption_computed as (

    select
        feature_name,
        active_customers,
        adopting_customers,
        cast(adopting_customers as {{ opsmetrics.type_double() }})
        / active_customers as feature_adoption_rate,
        period_start_date
    from feature_periods_counted

)
{%- endmacro %}
