{#- MRR of one subscription version, the revenue definition restated here until the revenue
    marts land: quantity x unit price x (1 - discount) / months per billing interval;
    only active and past_due versions earn MRR (trialing, paused, canceled count 0). -#}
with

subscriptions as (select * from {{ ref('stg_billing__subscriptions') }}),

priced as (

    select
        subscription_version_id,
        subscription_id,
        customer_id,
        plan_id,
        status,
        case
            when status in ('active', 'past_due')
                then
                    quantity * unit_amount * (1 - coalesce(discount_percent, 0) / 100.0)
                    / billing_interval_months
            else 0
        end as mrr_amount,
        status in ('active', 'past_due') as is_paid_status,
        valid_from,
        valid_to
    from subscriptions

)

select * from priced
