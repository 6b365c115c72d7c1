{#- Point-in-time MRR at the END of each day: a version counts on day D when it is in
    force at the last instant of D, i.e. valid_from < D + 1 day (midnight) and valid_to
    is null or >= that midnight. A change at exactly midnight belongs to the new day. -#}
with

subscription_versions as (select * from {{ ref('int_subscription_versions_priced') }}),

days as (select * from {{ ref('int_revenue_days_spined') }}),

paid_versions as (

    select
        customer_id,
        subscription_id,
        mrr_amount,
        valid_from,
        valid_to
    from subscription_versions
    where mrr_amount > 0

),

customer_days_paid as (

    select
        paid_versions.customer_id,
        days.calendar_date,
        sum(paid_versions.mrr_amount) as mrr_amount,
        count(distinct paid_versions.subscription_id) as paying_subscription_count
    from paid_versions
    inner join days
        on
            paid_versions.valid_from < days.next_day_start_at
            and (
                paid_versions.valid_to is null
                or paid_versions.valid_to >= days.next_day_start_at
            )
    group by paid_versions.customer_id, days.calendar_date

),

first_paid_days as (

    select
        customer_id,
        min(calendar_date) as first_paid_date
    from customer_days_paid
    group by customer_id

),

{# Dense from the first paid day to the as-of date, so days at 0 after churn exist. -#}
customer_days as (

    select
        first_paid_days.customer_id,
        days.calendar_date,
        days.month_start_date
    from first_paid_days
    inner join days
        on first_paid_days.first_paid_date <= days.calendar_date

),

final as (

    select
        customer_days.customer_id,
        cast(coalesce(customer_days_paid.mrr_amount, 0) as numeric(18, 6)) as mrr_amount,
        cast(coalesce(customer_days_paid.mrr_amount, 0) * 12 as numeric(18, 6)) as arr_amount,
        cast(
            coalesce(customer_days_paid.paying_subscription_count, 0) as integer
        ) as paying_subscription_count,
        coalesce(customer_days_paid.mrr_amount, 0) > 0 as is_active,
        customer_days.calendar_date as mrr_date,
        customer_days.month_start_date
    from customer_days
    left join customer_days_paid
        on
            customer_days.customer_id = customer_days_paid.customer_id
            and customer_days.calendar_date = customer_days_paid.calendar_date

)

select * from final
