with

source as (

    select * from {{ source('surveys', 'survey_responses') }}

),

customers as (

    select * from {{ ref('stg_app__customers') }}

),

users as (

    select * from {{ ref('stg_app__users') }}

),

comment_removed as (

    {#- Free-text comments may hold PII or markup: only whether there was one, and
        how long it was, pass staging. -#}
    select
        response_id,
        survey_type,
        customer_id,
        user_id,
        score,
        comment is not null and trim(comment) <> '' as has_comment,
        coalesce(length(trim(comment)), 0) as comment_length,
        submitted_at,
        _loaded_at
    from source

),

typed as (

    select
        nullif(trim(response_id), '') as response_id,
        lower(nullif(trim(survey_type), '')) as survey_type,
        nullif(trim(customer_id), '') as customer_id,
        nullif(trim(user_id), '') as user_id,
        score,
        has_comment,
        comment_length,
        {{ opsmetrics.parse_timestamp_utc('submitted_at') }} as submitted_at,
        nullif(trim(submitted_at), '') as submitted_at_text,
        _loaded_at,
        nullif(trim(response_id), '') as record_key,
        {{ opsmetrics.row_to_json('comment_removed') }} as raw_record
    from comment_removed

),

deduplicated as (

    select
        *,
        {{ opsmetrics.duplicate_rank(['response_id']) }} as duplicate_rank
    from typed

),

validated as (

    select
        *,
        case
            when
                response_id is null or survey_type is null or customer_id is null
                or score is null or submitted_at_text is null
                then 'null_required_field'
            when submitted_at is null then 'unparseable_timestamp'
            when {{ opsmetrics.is_after_load('submitted_at') }} then 'future_timestamp'
            when survey_type not in ('nps', 'csat') then 'invalid_value'
            when
                (survey_type = 'nps' and (score < 0 or score > 10))
                or (survey_type = 'csat' and (score < 1 or score > 5))
                then 'out_of_range_value'
            when
                customer_id not in (select customers.customer_id from customers)
                or (
                    user_id is not null
                    and user_id not in (select users.user_id from users)
                )
                then 'orphan_foreign_key'
        end as quarantine_reason
    from deduplicated

)

select * from validated
