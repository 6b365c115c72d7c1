with

responses as (

    select * from {{ ref('base_surveys__survey_responses') }}
    where duplicate_rank = 1 and quarantine_reason is null

),

final as (

    select
        response_id,
        customer_id,
        user_id,
        survey_type,
        score,
        comment_length,
        has_comment,
        submitted_at,
        _loaded_at
    from responses

)

select * from final
