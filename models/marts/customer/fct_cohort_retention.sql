{#- A customer's cohort is the first month ending with MRR > 0. Every later month is
    judged on its own month-end MRR, so a customer who churns and comes back counts as
    retained again from the month they are back. -#}
with

customer_months as (select * from {{ ref('int_customer_month_end_mrr') }}),

cohorts as (

    select
        customer_id,
        min(month_start_date) as cohort_month_start_date
    from customer_months
    where mrr_amount > 0
    group by customer_id

),

cohort_customer_months as (

    select
        cohorts.customer_id,
        cohorts.cohort_month_start_date,
        customer_months.month_start_date,
        customer_months.mrr_amount
    from cohorts
    inner join customer_months
        on
            cohorts.customer_id = customer_months.customer_id
            and cohorts.cohort_month_start_date <= customer_months.month_start_date

),

cohort_months_summed as (

    select
        cohort_month_start_date,
        month_start_date,
        cast(
            {{ dbt.datediff('cohort_month_start_date', 'month_start_date', 'month') }} as integer
        ) as months_since_first_paid,
        count(*) filter (where mrr_amount > 0) as retained_customers,
        sum(mrr_amount) as mrr_amount
    from cohort_customer_months
    group by cohort_month_start_date, month_start_date

),

cohort_starts as (

    select
        cohorts.cohort_month_start_date,
        count(*) as cohort_customers,
        sum(customer_months.mrr_amount) as cohort_starting_mrr_amount
    from cohorts
    inner join customer_months
        on
            cohorts.customer_id = customer_months.customer_id
            and cohorts.cohort_month_start_date = customer_months.month_start_date
    group by cohorts.cohort_month_start_date

),

retention_computed as (

    select
        cohort_months_summed.months_since_first_paid,
        cohort_starts.cohort_customers,
        cohort_months_summed.retained_customers,
        cast(cohort_months_summed.retained_customers as double precision)
        / cohort_starts.cohort_customers as logo_retention_rate,
        cohort_starts.cohort_starting_mrr_amount,
        cohort_months_summed.mrr_amount,
        cohort_months_summed.mrr_amount
        / cohort_starts.cohort_starting_mrr_amount as revenue_retention_rate,
        cohort_months_summed.cohort_month_start_date,
        cohort_months_summed.month_start_date
    from cohort_months_summed
    inner join cohort_starts
        on cohort_months_summed.cohort_month_start_date = cohort_starts.cohort_month_start_date

)

select * from retention_computed
