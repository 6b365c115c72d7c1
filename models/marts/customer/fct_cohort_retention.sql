{#- A customer's cohort is their first paid month (revenue's first month ending with
    MRR > 0). Every later month is judged on its own month-end MRR, so a customer who
    churns and comes back counts as retained again from the month they are back. -#}
with

customer_months as (select * from {{ ref('fct_customer_mrr_monthly') }}),

cohorts as (

    select
        customer_id,
        month_start_date as cohort_month_start_date
    from customer_months
    where is_first_paid_month

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
            {{ dbt.datediff('cohort_month_start_date', 'month_start_date', 'month') }} as integer  -- noqa: LT05
        ) as months_since_first_paid,
        count(case when mrr_amount > 0 then 1 end) as retained_customers,
        cast(sum(mrr_amount) as numeric(18, 6)) as mrr_amount
    from cohort_customer_months
    group by cohort_month_start_date, month_start_date

),

cohort_starts as (

    select
        cohorts.cohort_month_start_date,
        count(*) as cohort_customers,
        cast(sum(customer_months.mrr_amount) as numeric(18, 6)) as cohort_starting_mrr_amount
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
        cast(cohort_months_summed.retained_customers as {{ opsmetrics.type_double() }})
        / cohort_starts.cohort_customers as logo_retention_rate,
        cohort_starts.cohort_starting_mrr_amount,
        cohort_months_summed.mrr_amount,
        cast(cohort_months_summed.mrr_amount as {{ opsmetrics.type_double() }})
        / cast(cohort_starts.cohort_starting_mrr_amount as {{ opsmetrics.type_double() }})
            as revenue_retention_rate,
        cohort_months_summed.cohort_month_start_date,
        cohort_months_summed.month_start_date
    from cohort_months_summed
    inner join cohort_starts
        on cohort_months_summed.cohort_month_start_date = cohort_starts.cohort_month_start_date

)

select * from retention_computed
