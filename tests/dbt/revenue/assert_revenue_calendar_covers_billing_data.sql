{#- The day spine is cut from a fixed wide range; fail if billing data falls outside it
    (a day missing at either end) instead of being silently dropped. -#}
with

days as (select * from {{ ref('int_revenue_days_spined') }}),

subscription_versions as (select * from {{ ref('stg_billing__subscriptions') }}),

transactions as (select * from {{ ref('stg_billing__transactions') }}),

record_dates as (

    select cast(valid_from as date) as record_date from subscription_versions
    union all
    select cast(created_at as date) as record_date from transactions

),

uncovered as (

    select record_dates.record_date
    from record_dates
    left join days
        on record_dates.record_date = days.calendar_date
    where days.calendar_date is null

)

select * from uncovered
