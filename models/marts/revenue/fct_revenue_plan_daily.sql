{#- Cash revenue per plan and day: fct_revenue_daily's revenue split by the plan of the
    subscription each succeeded charge or refund belongs to. The plan is that of the
    subscription's latest version starting at or before the transaction (a refund after
    a cancellation keeps the plan it was paid on). One-off transactions, and any before
    their subscription's first version, are plan 'unattributed', so the plans of a day
    add up to that day's revenue. Only plan-days with a succeeded transaction have a
    row (no row = 0). -#}
with

transactions as (select * from {{ ref('stg_billing__transactions') }}),

subscription_versions as (select * from {{ ref('int_subscription_versions_priced') }}),

settled_transactions as (

    select
        transaction_id,
        subscription_id,
        transaction_type,
        amount,
        created_at
    from transactions
    where status = 'succeeded'

),

{# Every version started by the transaction's time, latest first (ties: plan_id). -#}
versions_ranked as (

    select
        settled_transactions.transaction_id,
        subscription_versions.plan_id,
        row_number() over (
            partition by settled_transactions.transaction_id
            order by subscription_versions.valid_from desc, subscription_versions.plan_id asc
        ) as version_rank
    from settled_transactions
    inner join subscription_versions
        on
            settled_transactions.subscription_id = subscription_versions.subscription_id
            and settled_transactions.created_at >= subscription_versions.valid_from

),

transactions_attributed as (

    select
        settled_transactions.transaction_type,
        settled_transactions.amount,
        cast(settled_transactions.created_at as date) as revenue_date,
        coalesce(versions_ranked.plan_id, 'unattributed') as plan_id
    from settled_transactions
    left join versions_ranked
        on
            settled_transactions.transaction_id = versions_ranked.transaction_id
            and versions_ranked.version_rank = 1

),

final as (

    select
        plan_id,
        {{ opsmetrics.exact_sum(
            "case when transaction_type = 'charge' then amount else 0 end"
        ) }}
        - {{ opsmetrics.exact_sum(
            "case when transaction_type = 'refund' then amount else 0 end"
        ) }} as revenue_amount,
        {{ opsmetrics.exact_sum(
            "case when transaction_type = 'charge' then amount else 0 end"
        ) }} as gross_charge_amount,
        {{ opsmetrics.exact_sum(
            "case when transaction_type = 'refund' then amount else 0 end"
        ) }} as refund_amount,
        cast(count(case when transaction_type = 'charge' then 1 end) as integer)
            as transaction_count,
        cast(count(case when transaction_type = 'refund' then 1 end) as integer)
            as refund_count,
        revenue_date
    from transactions_attributed
    group by plan_id, revenue_date

)

select * from final
