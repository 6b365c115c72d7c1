{#- One row per staged customer, with their revenue state at the as-of date. -#}
with

customers as (select * from {{ ref('stg_app__customers') }}),

customer_months as (select * from {{ ref('fct_customer_mrr_monthly') }}),

first_paid_months as (

    select
        customer_id,
        min(month_start_date) as first_paid_month,
        max(month_start_date) as latest_month_start_date
    from customer_months
    group by customer_id

),

{# Rows run through the last month for every paying customer, so the latest row is
    the as-of month. -#}
latest_months as (

    select
        customer_months.customer_id,
        customer_months.plan_id,
        customer_months.mrr_amount,
        customer_months.is_active
    from customer_months
    inner join first_paid_months
        on
            customer_months.customer_id = first_paid_months.customer_id
            and customer_months.month_start_date = first_paid_months.latest_month_start_date

),

final as (

    select
        customers.customer_id,
        latest_months.plan_id as current_plan_id,
        customers.company_name,
        customers.country_code,
        customers.segment,
        customers.acquisition_channel,
        cast(coalesce(latest_months.mrr_amount, 0) as numeric(18, 6)) as current_mrr_amount,
        coalesce(latest_months.is_active, false) as is_active_customer,
        first_paid_months.first_paid_month,
        customers.signed_up_at
    from customers
    left join first_paid_months
        on customers.customer_id = first_paid_months.customer_id
    left join latest_months
        on customers.customer_id = latest_months.customer_id

)

select * from final
