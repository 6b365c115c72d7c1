with

source as (

    select * from {{ source('app', 'customers') }}

),

pii_hashed as (

    select
        customer_id,
        {{ opsmetrics.hash_pii('email') }} as email_hash,
        company_name,
        country,
        segment,
        acquisition_channel,
        signed_up_at,
        _loaded_at
    from source

),

typed as (

    select
        nullif(trim(customer_id), '') as customer_id,
        email_hash,
        nullif(trim(company_name), '') as company_name,
        upper(nullif(trim(country), '')) as country_code,
        lower(nullif(trim(segment), '')) as segment,
        lower(nullif(trim(acquisition_channel), '')) as acquisition_channel,
        {{ opsmetrics.parse_timestamp_utc('signed_up_at') }} as signed_up_at,
        nullif(trim(signed_up_at), '') as signed_up_at_text,
        _loaded_at,
        nullif(trim(customer_id), '') as record_key,
        {{ opsmetrics.row_to_json('pii_hashed') }} as raw_record
    from pii_hashed

),

{# The rules are row-level, so each version is judged before ranking. A customer is
    master data other tables point at: when the latest version breaks a rule but an
    older version is valid, that older version is staged (duplicate_rank 1) next to the
    quarantined latest one, so one bad re-sent row does not remove the customer and all
    their children. See docs/decisions.md, Issue 12. #}
validated as (

    select
        *,
        case
            when
                customer_id is null or email_hash is null or company_name is null
                or country_code is null or segment is null or acquisition_channel is null
                or signed_up_at_text is null
                then 'null_required_field'
            {{ opsmetrics.load_and_time_rules('signed_up_at') }}
            when segment not in ('smb', 'mid_market', 'enterprise') then 'invalid_value'
            when length(country_code) <> 2 then 'invalid_value'
        end as quarantine_reason
    from typed

),

deduplicated as (

    select
        *,
        {{ opsmetrics.fallback_duplicate_rank(
            ['customer_id'], 'customers'
        ) }} as duplicate_rank
    from validated

)

select * from deduplicated
