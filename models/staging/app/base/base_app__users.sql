with

source as (

    select * from {{ source('app', 'users') }}

),

customers as (

    select * from {{ ref('stg_app__customers') }}

),

customers_raw as (

    select * from {{ ref('base_app__customers') }}

),

pii_hashed as (

    select
        user_id,
        customer_id,
        {{ opsmetrics.hash_pii('email') }} as email_hash,
        created_at,
        _loaded_at
    from source

),

typed as (

    select
        nullif(trim(user_id), '') as user_id,
        nullif(trim(customer_id), '') as customer_id,
        email_hash,
        {{ opsmetrics.parse_timestamp_utc('created_at') }} as created_at,
        nullif(trim(created_at), '') as created_at_text,
        _loaded_at,
        nullif(trim(user_id), '') as record_key,
        {{ opsmetrics.row_to_json('pii_hashed') }} as raw_record
    from pii_hashed

),

{# Judged before ranking, and ranked like customers (fallback_duplicate_rank): a user
    is master data that events and survey answers point at. #}
validated as (

    select
        *,
        case
            when
                user_id is null or customer_id is null or email_hash is null
                or created_at_text is null
                then 'null_required_field'
            {{ opsmetrics.load_and_time_rules('created_at') }}
            when
                customer_id not in (select customers.customer_id from customers)
                then {{ opsmetrics.foreign_key_reason(
                    'customer_id', 'customers_raw', 'customer_id'
                ) }}
        end as quarantine_reason
    from typed

),

deduplicated as (

    select
        *,
        {{ opsmetrics.fallback_duplicate_rank(
            ['user_id'], 'users'
        ) }} as duplicate_rank
    from validated

)

select * from deduplicated
