with

transactions as (

    select * from {{ ref('base_billing__transactions') }}
    where duplicate_rank = 1 and quarantine_reason is null

),

final as (

    select
        transaction_id,
        customer_id,
        subscription_id,
        transaction_type,
        status,
        currency as original_currency,
        amount as original_amount,
        amount * rate_to_reporting as amount,
        rate_to_reporting as fx_rate_to_reporting,
        created_at,
        _loaded_at
    from transactions

)

select * from final
