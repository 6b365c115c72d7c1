with

source as (

    select * from {{ source('finance', 'fx_rates') }}

),

currencies as (

    select * from {{ ref('iso_4217_currencies') }}

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
        {{ opsmetrics.duplicate_rank(
            ['currency', 'rate_date'], 'fx_rates'
        ) }} as duplicate_rank
    from typed

),

{# The rules that need no neighbour; a rate passing them is a candidate for the spike
    check below. #}
row_checked as (

    select
        *,
        case
            when currency is null or rate_date_text is null or rate_to_usd is null
                then 'null_required_field'
            when _loaded_at is null then 'missing_loaded_at'
            when {{ opsmetrics.is_non_finite('rate_to_usd') }} then 'non_finite_number'
            when rate_date is null then 'unparseable_timestamp'
            when rate_to_usd <= 0 then 'out_of_range_value'
            {#- USD is the quote currency: its rate is 1 by definition, never loaded. #}
            when currency = 'USD' then 'invalid_value'
            when currency not in (select currencies.currency from currencies)
                then 'unknown_currency'
            when {{ opsmetrics.is_after_load('rate_date') }}
                then 'future_timestamp'
        end as row_reason
    from deduplicated

),

{# Each kept candidate rate beside the currency's previous and next candidate rates
    (null for other rows: among duplicates and rejected rows the order by rate_date has
    ties, so their neighbours would depend on the warehouse's row order). #}
neighboured as (

    select
        *,
        case
            when duplicate_rank = 1 and row_reason is null
                then lag(rate_to_usd) over neighbours
        end as previous_rate_to_usd,
        case
            when duplicate_rank = 1 and row_reason is null
                then lead(rate_to_usd) over neighbours
        end as next_rate_to_usd
    from row_checked
    window neighbours as (
        partition by currency, duplicate_rank = 1 and row_reason is null
        order by rate_date
    )

),

{# A spike: more than max_fx_rate_daily_change_pct away from the previous rate and
    from the next one (a rate that moves and stays there is a new level, not an error).
    Without a next rate, the previous one alone decides. #}
validated as (

    select
        *,
        case
            when row_reason is not null then row_reason
            when
                duplicate_rank = 1
                and previous_rate_to_usd is not null
                and {{ opsmetrics.is_implausible_rate_change(
                    'rate_to_usd', 'previous_rate_to_usd'
                ) }}
                and (
                    next_rate_to_usd is null
                    or {{ opsmetrics.is_implausible_rate_change(
                        'rate_to_usd', 'next_rate_to_usd'
                    ) }}
                )
                then 'implausible_value'
        end as quarantine_reason
    from neighboured

)

select * from validated
