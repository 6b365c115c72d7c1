{#- Month x segment x country x plan x acquisition channel: the additive parts of every
    monthly revenue KPI, for slicing (ratios are recomputed from these sums). Each
    customer-month falls in exactly one slice; starting MRR is the previous month-end MRR
    of the customers in the slice this month, so the movement identity holds per row. -#}
with

customer_months as (select * from {{ ref('fct_customer_mrr_monthly') }}),

customers as (select * from {{ ref('dim_customers') }}),

customer_months_described as (

    select
        customer_months.*,
        customers.segment,
        customers.country_code,
        customers.acquisition_channel
    from customer_months
    inner join customers
        on customer_months.customer_id = customers.customer_id

),

final as (

    select
        segment,
        country_code,
        plan_id,
        acquisition_channel,
        cast(sum(mrr_amount) as numeric(18, 6)) as mrr_amount,
        cast(sum(arr_amount) as numeric(18, 6)) as arr_amount,
        cast(sum(previous_mrr_amount) as numeric(18, 6)) as starting_mrr_amount,
        cast(sum(new_mrr_amount) as numeric(18, 6)) as new_mrr_amount,
        cast(sum(reactivation_mrr_amount) as numeric(18, 6)) as reactivation_mrr_amount,
        cast(sum(expansion_mrr_amount) as numeric(18, 6)) as expansion_mrr_amount,
        cast(sum(contraction_mrr_amount) as numeric(18, 6)) as contraction_mrr_amount,
        cast(sum(churned_mrr_amount) as numeric(18, 6)) as churned_mrr_amount,
        cast(count(case when is_active then 1 end) as integer) as active_customers,
        cast(
            count(case when was_active_previous_month then 1 end) as integer
        ) as starting_active_customers,
        cast(count(case when mrr_movement_type = 'new' then 1 end) as integer) as new_customers,
        cast(
            count(case when mrr_movement_type = 'reactivation' then 1 end) as integer
        ) as reactivated_customers,
        cast(
            count(case when mrr_movement_type = 'churn' then 1 end) as integer
        ) as churned_customers,
        is_month_complete,
        month_start_date
    from customer_months_described
    group by
        segment,
        country_code,
        plan_id,
        acquisition_channel,
        is_month_complete,
        month_start_date

)

select * from final
