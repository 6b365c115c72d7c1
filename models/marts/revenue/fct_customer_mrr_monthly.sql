{#- Customer x month MRR measured at the end of the month's last day (the as-of date for
    the current, incomplete month), with the movement from the previous month end.
    Rows run from the customer's first month end with MRR > 0 through the last month,
    zeros included, so churn and reactivation are visible. -#}
with

subscription_versions as (select * from {{ ref('int_subscription_versions_priced') }}),

days as (select * from {{ ref('int_revenue_days_spined') }}),

month_ends as (

    select
        month_start_date,
        calendar_date as measured_date,
        next_day_start_at,
        is_month_complete
    from days
    where is_month_measured_date

),

versions_in_force as (

    select
        subscription_versions.customer_id,
        subscription_versions.subscription_id,
        subscription_versions.plan_id,
        subscription_versions.mrr_amount,
        month_ends.month_start_date
    from subscription_versions
    inner join month_ends
        on
            subscription_versions.valid_from < month_ends.next_day_start_at
            and (
                subscription_versions.valid_to is null
                or subscription_versions.valid_to >= month_ends.next_day_start_at
            )
    where subscription_versions.mrr_amount > 0

),

customer_month_mrr as (

    select
        customer_id,
        month_start_date,
        sum(mrr_amount) as mrr_amount,
        count(distinct subscription_id) as paying_subscription_count
    from versions_in_force
    group by customer_id, month_start_date

),

{# A customer's plan in a month is the plan carrying most of their MRR at the month end
    (ties: lowest plan_id). -#}
plan_mrr as (

    select
        customer_id,
        month_start_date,
        plan_id,
        sum(mrr_amount) as plan_mrr_amount
    from versions_in_force
    group by customer_id, month_start_date, plan_id

),

plans_ranked as (

    select
        customer_id,
        month_start_date,
        plan_id,
        row_number() over (
            partition by customer_id, month_start_date
            order by plan_mrr_amount desc, plan_id asc
        ) as plan_rank
    from plan_mrr

),

first_paid_months as (

    select
        customer_id,
        min(month_start_date) as first_paid_month_start_date
    from customer_month_mrr
    group by customer_id

),

customer_months as (

    select
        first_paid_months.customer_id,
        month_ends.month_start_date,
        month_ends.measured_date,
        month_ends.is_month_complete,
        month_ends.month_start_date
        = first_paid_months.first_paid_month_start_date as is_first_paid_month
    from first_paid_months
    inner join month_ends
        on first_paid_months.first_paid_month_start_date <= month_ends.month_start_date

),

mrr_filled as (

    select
        customer_months.customer_id,
        customer_months.month_start_date,
        customer_months.measured_date,
        customer_months.is_month_complete,
        customer_months.is_first_paid_month,
        cast(coalesce(customer_month_mrr.mrr_amount, 0) as numeric(18, 6)) as mrr_amount,
        coalesce(customer_month_mrr.paying_subscription_count, 0) as paying_subscription_count
    from customer_months
    left join customer_month_mrr
        on
            customer_months.customer_id = customer_month_mrr.customer_id
            and customer_months.month_start_date = customer_month_mrr.month_start_date

),

{# Rows are dense per customer, so lag(n) is exactly n months earlier. -#}
mrr_with_history as (

    select
        *,
        coalesce(
            lag(mrr_amount, 1) over (partition by customer_id order by month_start_date), 0
        ) as previous_mrr_amount,
        coalesce(
            lag(mrr_amount, 12) over (partition by customer_id order by month_start_date), 0
        ) as mrr_12_months_earlier_amount,
        max(case when mrr_amount > 0 then month_start_date end) over (
            partition by customer_id
            order by month_start_date
            rows between unbounded preceding and current row
        ) as last_paid_month_start_date
    from mrr_filled

),

{# Order matters: new and reactivation are both 0 -> >0 and are told apart by history;
    churn (>0 -> 0) is tested before the up/down comparisons. -#}
movements_classified as (

    select
        *,
        case
            when previous_mrr_amount = 0 and mrr_amount > 0 and is_first_paid_month
                then 'new'
            when previous_mrr_amount = 0 and mrr_amount > 0 then 'reactivation'
            when previous_mrr_amount > 0 and mrr_amount = 0 then 'churn'
            when mrr_amount > previous_mrr_amount then 'expansion'
            when mrr_amount < previous_mrr_amount then 'contraction'
            when mrr_amount > 0 then 'unchanged'
            else 'inactive'
        end as mrr_movement_type
    from mrr_with_history

),

final as (

    select
        movements_classified.customer_id,
        plans_ranked.plan_id,
        movements_classified.mrr_movement_type,
        movements_classified.mrr_amount,
        cast(movements_classified.mrr_amount * 12 as numeric(18, 6)) as arr_amount,
        cast(movements_classified.previous_mrr_amount as numeric(18, 6)) as previous_mrr_amount,
        cast(case
            when movements_classified.mrr_movement_type = 'new'
                then movements_classified.mrr_amount
            else 0
        end as numeric(18, 6)) as new_mrr_amount,
        cast(case
            when movements_classified.mrr_movement_type = 'reactivation'
                then movements_classified.mrr_amount
            else 0
        end as numeric(18, 6)) as reactivation_mrr_amount,
        cast(case
            when movements_classified.mrr_movement_type = 'expansion'
                then movements_classified.mrr_amount - movements_classified.previous_mrr_amount
            else 0
        end as numeric(18, 6)) as expansion_mrr_amount,
        cast(case
            when movements_classified.mrr_movement_type = 'contraction'
                then movements_classified.previous_mrr_amount - movements_classified.mrr_amount
            else 0
        end as numeric(18, 6)) as contraction_mrr_amount,
        cast(case
            when movements_classified.mrr_movement_type = 'churn'
                then movements_classified.previous_mrr_amount
            else 0
        end as numeric(18, 6)) as churned_mrr_amount,
        cast(
            movements_classified.mrr_12_months_earlier_amount as numeric(18, 6)
        ) as mrr_12_months_earlier_amount,
        cast(movements_classified.paying_subscription_count as integer)
            as paying_subscription_count,
        movements_classified.mrr_amount > 0 as is_active,
        movements_classified.previous_mrr_amount > 0 as was_active_previous_month,
        movements_classified.is_first_paid_month,
        movements_classified.is_month_complete,
        movements_classified.month_start_date,
        movements_classified.measured_date
    from movements_classified
    left join plans_ranked
        on
            movements_classified.customer_id = plans_ranked.customer_id
            and movements_classified.last_paid_month_start_date = plans_ranked.month_start_date
            and plans_ranked.plan_rank = 1

)

select * from final
