with

source as (

    select * from {{ source('finance', 'fx_rates') }}

),

typed as (

    select
        upper(nullif(trim(currency), '')) as currency,
        rate_to_usd,
        {{ opsmetrics.parse_date('rate_date') }} as rate_date,
        _loaded_at,
        upper(trim(currency)) || '|' || trim(rate_date) as record_key,
        nullif(trim(rate_date), '') as rate_date_text,
        {{ opsmetrics.row_to_json('source') }} as raw_record
    from source

),

deduplicated as (

    select
        *,
        {{ opsmetrics.duplicate_rank(['currency', 'rate_date']) }} as duplicate_rank
    from typed

),

validated as (

    select
        *,
        case
            when currency is null or rate_date_text is null or rate_to_usd is null
                then 'null_required_field'
            when rate_date is null then 'unparseable_timestamp'
            when rate_to_usd <= 0 then 'out_of_range_value'
            {#- USD is the quote currency: its rate is 1 by definition, never loaded. #}
            when currency = 'USD' then 'invalid_value'
            when {{ opsmetrics.is_after_load('rate_date') }}
                then 'future_timestamp'
        end as quarantine_reason
    from deduplicated

)

select * from validated
