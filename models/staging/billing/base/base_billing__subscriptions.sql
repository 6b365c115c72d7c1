with

source as (

    select * from {{ source('billing', 'subscriptions') }}

),

customers as (

    select * from {{ ref('stg_app__customers') }}

),

customers_raw as (

    select * from {{ ref('base_app__customers') }}

),

currencies as (

    select * from {{ ref('iso_4217_currencies') }}

),

plans as (

    select * from {{ ref('plans') }}

),

fx_rates as (

    select * from {{ ref('stg_finance__fx_rates') }}

),

typed as (

    select
        nullif(trim(subscription_id), '') as subscription_id,
        nullif(trim(customer_id), '') as customer_id,
        lower(nullif(trim(plan_id), '')) as plan_id,
        lower(nullif(trim(status), '')) as status,
        lower(nullif(trim(billing_interval), '')) as billing_interval,
        upper(nullif(trim(currency), '')) as currency,
        quantity,
        unit_amount,
        discount_percent,
        {{ opsmetrics.parse_timestamp_utc('valid_from') }} as valid_from,
        nullif(trim(valid_from), '') as valid_from_text,
        _loaded_at,
        nullif(trim(subscription_id), '') || '|' || nullif(trim(valid_from), '') as record_key,
        {{ opsmetrics.row_to_json('source') }} as raw_record
    from source

),

deduplicated as (

    select
        *,
        {{ opsmetrics.duplicate_rank(
            ['subscription_id', 'valid_from'], 'subscriptions'
        ) }} as duplicate_rank
    from typed

),

{{ opsmetrics.with_fx_rate('deduplicated', 'cast(deduplicated.valid_from as date)') }},

{# A cancellation ends a subscription: it needs no price, so its quantity, unit
    amount, discount and currency may be missing (when given, they are checked). #}
validated as (

    select
        *,
        case
            when
                subscription_id is null or customer_id is null or plan_id is null
                or status is null or billing_interval is null or valid_from_text is null
                or (
                    status <> 'canceled'
                    and (
                        currency is null or quantity is null or unit_amount is null
                        or discount_percent is null
                    )
                )
                then 'null_required_field'
            {{ opsmetrics.load_and_time_rules(
                'valid_from', ['unit_amount', 'discount_percent', 'quantity']
            ) }}
            {{ opsmetrics.money_rules('unit_amount') }}
            when quantity <= 0 or discount_percent < 0 or discount_percent > 100
                then 'out_of_range_value'
            when quantity > {{ var('max_plausible_quantity') }} then 'implausible_value'
            when
                status not in ('trialing', 'active', 'past_due', 'paused', 'canceled')
                or billing_interval not in ('month', 'quarter', 'year')
                or plan_id not in (select plans.plan_id from plans)
                then 'invalid_value'
            when
                customer_id not in (select customers.customer_id from customers)
                then {{ opsmetrics.foreign_key_reason(
                    'customer_id', 'customers_raw', 'customer_id'
                ) }}
            when currency is not null and rate_to_reporting is null then 'missing_fx_rate'
        end as quarantine_reason
    from with_fx_rate

)

select * from validated
