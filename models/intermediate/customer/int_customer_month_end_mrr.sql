{#- Month-end MRR per customer from the month of their first subscription version to the
    month of the data's as-of date (latest load or change). A version counts for a month
    when it is in force at the end of the month's last day: it started before the next
    month and ends (valid_to, exclusive) on or after the next month's start. -#}
with

subscription_versions as (select * from {{ ref('int_subscription_versions_priced') }}),

subscriptions as (select * from {{ ref('stg_billing__subscriptions') }}),

as_of as (

    select
        cast({{ dbt.date_trunc('month', 'max(greatest(_loaded_at, valid_from))') }} as date)
            as as_of_month_start_date
    from subscriptions

),

customer_bounds as (

    select
        subscription_versions.customer_id,
        cast({{ dbt.date_trunc('month', 'min(subscription_versions.valid_from)') }} as date)
            as first_month_start_date,
        max(as_of.as_of_month_start_date) as last_month_start_date
    from subscription_versions
    cross join as_of
    group by subscription_versions.customer_id

),

customer_months as (

    select
        customer_bounds.customer_id,
        cast(months.month_start_at as date) as month_start_date
    from customer_bounds
    cross join generate_series(
        cast(customer_bounds.first_month_start_date as timestamp),
        cast(customer_bounds.last_month_start_date as timestamp),
        interval '1 month'
    ) as months (month_start_at)

),

versions_in_force_at_month_end as (

    select
        customer_months.customer_id,
        customer_months.month_start_date,
        subscription_versions.mrr_amount
    from customer_months
    inner join subscription_versions
        on
            customer_months.customer_id = subscription_versions.customer_id
            and subscription_versions.valid_from
            < {{ dbt.dateadd('month', 1, 'customer_months.month_start_date') }}
            and (
                subscription_versions.valid_to is null
                or subscription_versions.valid_to
                >= {{ dbt.dateadd('month', 1, 'customer_months.month_start_date') }}
            )

),

month_end_mrr as (

    select
        customer_months.customer_id,
        coalesce(sum(versions_in_force_at_month_end.mrr_amount), 0) as mrr_amount,
        customer_months.month_start_date
    from customer_months
    left join versions_in_force_at_month_end
        on
            customer_months.customer_id = versions_in_force_at_month_end.customer_id
            and customer_months.month_start_date = versions_in_force_at_month_end.month_start_date
    group by customer_months.customer_id, customer_months.month_start_date

)

select * from month_end_mrr
