with

acquisition_costs as (

    select * from {{ ref('base_marketing__acquisition_costs') }}
    where duplicate_rank = 1 and quarantine_reason is null

),

final as (

    select
        record_key as acquisition_cost_id,
        category,
        channel as acquisition_channel,
        campaign,
        currency as original_currency,
        amount as original_amount,
        amount * rate_to_reporting as amount,
        rate_to_reporting as fx_rate_to_reporting,
        cost_date,
        _loaded_at
    from acquisition_costs

)

select * from final
