{#- The change log as validity periods: each version holds from valid_from until the
    next version of the same subscription (valid_to null = still in force). -#}
with

subscription_versions as (

    select * from {{ ref('base_billing__subscriptions') }}
    where duplicate_rank = 1 and quarantine_reason is null

),

periods as (

    select
        subscription_id || '|' || cast(valid_from as {{ dbt.type_string() }})
            as subscription_version_id,
        subscription_id,
        customer_id,
        plan_id,
        status,
        billing_interval,
        currency as original_currency,
        case billing_interval
            when 'month' then 1
            when 'quarter' then 3
            when 'year' then 12
        end as billing_interval_months,
        quantity,
        unit_amount as original_unit_amount,
        unit_amount * rate_to_reporting as unit_amount,
        rate_to_reporting as fx_rate_to_reporting,
        discount_percent,
        lead(valid_from) over (
            partition by subscription_id order by valid_from
        ) is null as is_current_version,
        valid_from,
        lead(valid_from) over (partition by subscription_id order by valid_from) as valid_to,
        _loaded_at
    from subscription_versions

)

select * from periods
