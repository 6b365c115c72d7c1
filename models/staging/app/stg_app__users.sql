with

users as (

    select * from {{ ref('base_app__users') }}
    where duplicate_rank = 1 and quarantine_reason is null

),

final as (

    select
        user_id,
        customer_id,
        email_hash,
        created_at,
        _loaded_at
    from users

)

select * from final
