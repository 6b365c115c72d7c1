{#- Active customers are those with MRR > 0 at the month end; a customer adopted a feature
    in a month when any of its users' events named that feature that month. Rows cover every
    feature ever seen x every month from the first to the last month with events. -#}
with

events as (select * from {{ ref('fct_events') }}),

customer_months as (select * from {{ ref('fct_customer_mrr_monthly') }}),

feature_customer_months as (

    select distinct
        feature_name,
        customer_id,
        cast({{ dbt.date_trunc('month', 'occurred_date') }} as date) as month_start_date
    from events
    where feature_name is not null and customer_id is not null

),

features as (

    select distinct feature_name from feature_customer_months

),

month_bounds as (

    select
        cast({{ dbt.date_trunc('month', 'min(occurred_date)') }} as date) as first_month_start_date,
        cast({{ dbt.date_trunc('month', 'max(occurred_date)') }} as date) as last_month_start_date
    from events

),

active_customer_months as (

    select
        customer_months.customer_id,
        customer_months.month_start_date
    from customer_months
    cross join month_bounds
    where
        customer_months.mrr_amount > 0
        and customer_months.month_start_date
        between month_bounds.first_month_start_date and month_bounds.last_month_start_date

),

feature_months_counted as (

    select
        features.feature_name,
        count(*) as active_customers,
        count(feature_customer_months.customer_id) as adopting_customers,
        active_customer_months.month_start_date
    from active_customer_months
    cross join features
    left join feature_customer_months
        on
            features.feature_name = feature_customer_months.feature_name
            and active_customer_months.customer_id = feature_customer_months.customer_id
            and active_customer_months.month_start_date = feature_customer_months.month_start_date
    group by features.feature_name, active_customer_months.month_start_date

),

adoption_computed as (

    select
        feature_name,
        active_customers,
        adopting_customers,
        cast(adopting_customers as {{ opsmetrics.type_double() }}) / active_customers
            as feature_adoption_rate,
        month_start_date
    from feature_months_counted

)

select * from adoption_computed
