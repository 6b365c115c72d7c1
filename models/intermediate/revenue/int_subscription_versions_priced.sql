{#- MRR of each subscription version, in USD. unit_amount is already converted at the FX
    rate of the version's valid_from (staging), so the rate is locked for the version's
    life and exchange-rate moves never appear as expansion or contraction. Rounded to
    micro-dollars so that sums compare exactly (numeric) downstream. -#}
with

subscription_versions as (select * from {{ ref('stg_billing__subscriptions') }}),

priced as (

    select
        subscription_version_id,
        subscription_id,
        customer_id,
        plan_id,
        status,
        billing_interval,
        original_currency,
        billing_interval_months,
        quantity,
        original_unit_amount,
        fx_rate_to_reporting,
        unit_amount,
        discount_percent,
        cast(
            case
                when status in ('active', 'past_due')
                    then
                        quantity * unit_amount * (1 - discount_percent / 100.0)
                        / billing_interval_months
                else 0
            end as numeric(18, 6)
        ) as mrr_amount,
        status in ('active', 'past_due') as is_revenue_generating,
        valid_from,
        valid_to
    from subscription_versions

)

select * from priced
