{{ config(opsmetrics.deleted_then_appended_config(
    "{{ opsmetrics.delete_rebuilt_customer_mrr() }}"
)) }}

{#- Point-in-time MRR at the END of each day: a version counts on day D when it is in
    force at the last instant of D, i.e. valid_from < D + 1 day (midnight) and valid_to
    is null or >= that midnight. A change at exactly midnight belongs to the new day.
    An incremental run builds whole only the customers whose paid versions changed (the
    pre-hook has deleted their rows); every other customer gets the days after the last
    one built. -#}
with

paid_versions as (

    {{ opsmetrics.fingerprinted_paid_versions() }}

),

days as (select * from {{ ref('int_revenue_days_spined') }}),

{% if is_incremental() -%}
built_customers as (

    {{ opsmetrics.built_customer_mrr() }}

),

{% endif -%}

{# Per customer, the first day this run may write: the day after the last one built
    when its fingerprint is unchanged, none (all days) otherwise. -#}
customers_built as (

    select distinct
        paid_versions.customer_id,
        paid_versions.paid_versions_fingerprint,
        {% if is_incremental() -%}
            cast(
                {{ dbt.dateadd('day', 1, 'built_customers.last_built_date') }} as date
            ) as first_built_date
        {%- else -%}
            cast(null as date) as first_built_date
        {%- endif %}
    from paid_versions
    {%- if is_incremental() %}
    left join built_customers
        on
            paid_versions.customer_id = built_customers.customer_id
            and paid_versions.paid_versions_fingerprint
            = built_customers.paid_versions_fingerprint
    {%- endif %}

),

{# A version counts from its valid_from, or from the first day built when that is later
    (day D >= that day exactly when its midnight < D + 1 day). -#}
versions_built as (

    select
        paid_versions.customer_id,
        paid_versions.subscription_id,
        paid_versions.mrr_amount,
        case
            when cast(customers_built.first_built_date as timestamp) > paid_versions.valid_from
                then cast(customers_built.first_built_date as timestamp)
            else paid_versions.valid_from
        end as counted_from,
        paid_versions.valid_to
    from paid_versions
    inner join customers_built
        on paid_versions.customer_id = customers_built.customer_id
    where
        customers_built.first_built_date is null
        or paid_versions.valid_to is null
        or paid_versions.valid_to > cast(customers_built.first_built_date as timestamp)

),

customer_days_paid as (

    select
        versions_built.customer_id,
        days.calendar_date,
        sum(versions_built.mrr_amount) as mrr_amount,
        count(distinct versions_built.subscription_id) as paying_subscription_count
    from versions_built
    inner join days
        on
            versions_built.counted_from < days.next_day_start_at
            and (
                versions_built.valid_to is null
                or versions_built.valid_to >= days.next_day_start_at
            )
    group by versions_built.customer_id, days.calendar_date

),

first_paid_days as (

    select
        customer_id,
        min(calendar_date) as first_paid_date
    from customer_days_paid
    group by customer_id

),

{# Dense from the first paid day (or the first day built) to the as-of date, so days at
    0 after churn exist. -#}
customer_days as (

    select
        customers_built.customer_id,
        customers_built.paid_versions_fingerprint,
        days.calendar_date,
        days.month_start_date
    from customers_built
    left join first_paid_days
        on customers_built.customer_id = first_paid_days.customer_id
    inner join days
        on
            coalesce(customers_built.first_built_date, first_paid_days.first_paid_date)
            <= days.calendar_date

),

final as (

    select
        customer_days.customer_id,
        customer_days.paid_versions_fingerprint,
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
