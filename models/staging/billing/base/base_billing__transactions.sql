with

source as (

    select * from {{ source('billing', 'transactions') }}

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

fx_rates as (

    select * from {{ ref('stg_finance__fx_rates') }}

),

typed as (

    select
        nullif(trim(transaction_id), '') as transaction_id,
        nullif(trim(customer_id), '') as customer_id,
        nullif(trim(subscription_id), '') as subscription_id,
        lower(nullif(trim(type), '')) as transaction_type,
        lower(nullif(trim(status), '')) as status,
        upper(nullif(trim(currency), '')) as currency,
        amount,
        {{ opsmetrics.parse_timestamp_utc('created_at') }} as created_at,
        nullif(trim(created_at), '') as created_at_text,
        _loaded_at,
        nullif(trim(transaction_id), '') as record_key,
        {{ opsmetrics.row_to_json('source') }} as raw_record
    from source

),

deduplicated as (

    select
        *,
        {{ opsmetrics.duplicate_rank(
            ['transaction_id'], 'transactions'
        ) }} as duplicate_rank
    from typed

),

{{ opsmetrics.with_fx_rate('deduplicated', 'cast(deduplicated.created_at as date)') }},

validated as (

    select
        *,
        case
            when
                transaction_id is null or customer_id is null or transaction_type is null
                or status is null or currency is null or amount is null
                or created_at_text is null
                then 'null_required_field'
            {{ opsmetrics.load_and_time_rules('created_at', ['amount']) }}
            {{ opsmetrics.money_rules('amount') }}
            when
                transaction_type not in ('charge', 'refund')
                or status not in ('succeeded', 'failed', 'pending')
                then 'invalid_value'
            when
                customer_id not in (select customers.customer_id from customers)
                then {{ opsmetrics.foreign_key_reason(
                    'customer_id', 'customers_raw', 'customer_id'
                ) }}
            when rate_to_reporting is null then 'missing_fx_rate'
        end as quarantine_reason
    from with_fx_rate

)

select * from validated
