{#- One row per currency and rate date with the range it is in force for, plus USD
    (the quote currency, 1 by definition) so every conversion is a plain join.
    rate_to_reporting divides by the reporting currency's rate in force that day. -#}
with

rates as (

    select * from {{ ref('base_finance__fx_rates') }}
    where duplicate_rank = 1 and quarantine_reason is null

),

rates_with_usd as (

    select
        currency,
        rate_to_usd,
        rate_date,
        _loaded_at
    from rates
    union all
    select distinct
        'USD' as currency,
        1.0 as rate_to_usd,
        rate_date,
        cast(null as timestamp) as _loaded_at
    from rates
    union all
    select
        'USD' as currency,
        1.0 as rate_to_usd,
        cast('1900-01-01' as date) as rate_date,
        cast(null as timestamp) as _loaded_at

),

ranged as (

    select
        currency,
        rate_to_usd,
        rate_date as valid_from_date,
        lead(rate_date) over (partition by currency order by rate_date) as valid_to_date,
        _loaded_at
    from rates_with_usd

),

reporting_rates as (

    select * from ranged where currency = '{{ var("reporting_currency") }}'

),

converted as (

    select
        ranged.currency || '|' || cast(ranged.valid_from_date as {{ dbt.type_string() }})
            as fx_rate_id,
        ranged.currency,
        ranged.rate_to_usd,
        ranged.rate_to_usd / reporting_rates.rate_to_usd as rate_to_reporting,
        ranged.valid_from_date,
        ranged.valid_to_date,
        ranged._loaded_at
    from ranged
    inner join reporting_rates
        on ranged.valid_from_date >= reporting_rates.valid_from_date
            and (
                reporting_rates.valid_to_date is null
                or ranged.valid_from_date < reporting_rates.valid_to_date
            )

)

select * from converted
