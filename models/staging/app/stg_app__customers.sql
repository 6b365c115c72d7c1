with

customers as (

    select * from {{ ref('base_app__customers') }}
    where duplicate_rank = 1 and quarantine_reason is null

),

final as (

    select
        customer_id,
        email_hash,
        company_name,
        country_code,
        segment,
        acquisition_channel,
        signed_up_at,
        _loaded_at
    from customers

)

select * from final
