with

source as (

    select * from {{ source('marketing', 'acquisition_costs') }}

),

channels as (

    select * from {{ ref('channels') }}

),

currencies as (

    select * from {{ ref('iso_4217_currencies') }}

),

fx_rates as (

    select * from {{ ref('stg_finance__fx_rates') }}

),

typed as (

    select
        lower(nullif(trim(category), '')) as category,
        lower(nullif(trim(channel), '')) as channel,
        coalesce(nullif(trim(campaign), ''), '(none)') as campaign,
        upper(nullif(trim(currency), '')) as currency,
        amount,
        {{ opsmetrics.parse_date('cost_date') }} as cost_date,
        nullif(trim(cost_date), '') as cost_date_text,
        _loaded_at,
        {{ dbt.concat([
            "coalesce(trim(cost_date), '')", "'|'", "coalesce(lower(trim(category)), '')", "'|'",
            "coalesce(lower(trim(channel)), '')", "'|'", "coalesce(trim(campaign), '(none)')",
        ]) }} as record_key,
        {{ opsmetrics.row_to_json('source') }} as raw_record
    from source

),

deduplicated as (

    select
        *,
        {{ opsmetrics.duplicate_rank(
            ['cost_date', 'category', 'channel', 'campaign'], 'acquisition_costs'
        ) }}
            as duplicate_rank
    from typed

),

{{ opsmetrics.with_fx_rate('deduplicated', 'deduplicated.cost_date') }},

validated as (

    select
        *,
        case
            when
                category is null or channel is null or currency is null or amount is null
                or cost_date_text is null
                then 'null_required_field'
            {{ opsmetrics.load_and_time_rules('cost_date', ['amount']) }}
            {{ opsmetrics.money_rules('amount') }}
            when
                category not in ('marketing', 'sales')
                or channel not in (select channels.acquisition_channel from channels)
                then 'invalid_value'
            when rate_to_reporting is null then 'missing_fx_rate'
        end as quarantine_reason
    from with_fx_rate

)

select * from validated
