{#- Active customers are those with MRR > 0 at the month end; a customer adopted a feature
    in a month when any of its users' events named that feature that month. Rows cover every
    feature ever seen x every month from the first to the last month with events
    (macro feature_adoption_by_period, shared with the weekly twin). -#}
with

events as (select * from {{ ref('fct_events') }}),

customer_months as (select * from {{ ref('fct_customer_mrr_monthly') }}),

active_customer_periods as (

    select
        customer_id,
        month_start_date as period_start_date
    from customer_months
    where mrr_amount > 0

),

{{ opsmetrics.feature_adoption_by_period('month') }},

final as (

    select
        feature_name,
        active_customers,
        adopting_customers,
        feature_adoption_rate,
        period_start_date as month_start_date
    from adoption_computed

)

select * from final
