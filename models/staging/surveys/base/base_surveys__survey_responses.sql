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

customers_raw as (

    select * from {{ ref('base_app__customers') }}

),

users_raw as (

    select * from {{ ref('base_app__users') }}

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
        {{ opsmetrics.duplicate_rank(
            ['response_id'], 'survey_responses'
        ) }} as duplicate_rank
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
            {{ opsmetrics.load_and_time_rules('submitted_at', ['score']) }}
            when survey_type not in ('nps', 'csat') then 'invalid_value'
            when
                (survey_type = 'nps' and (score < 0 or score > 10))
                or (survey_type = 'csat' and (score < 1 or score > 5))
                then 'out_of_range_value'
            {#- Scores are whole points on the survey's scale: 9.5 is no answer anyone
                gave (rounding it would make it a promoter). #}
            when score <> floor(score) then 'invalid_value'
            when
                customer_id not in (select customers.customer_id from customers)
                then {{ opsmetrics.foreign_key_reason(
                    'customer_id', 'customers_raw', 'customer_id'
                ) }}
            when
                user_id is not null
                and user_id not in (select users.user_id from users)
                then {{ opsmetrics.foreign_key_reason(
                    'user_id', 'users_raw', 'user_id'
                ) }}
        end as quarantine_reason
    from deduplicated

)

select * from validated
