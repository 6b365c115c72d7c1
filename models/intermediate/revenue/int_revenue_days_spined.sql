{#- The revenue calendar: one row per day from the first billing or acquisition-cost
    record to the as-of date (the last day with such a record). dbt.date_spine needs
    constant bounds, so it spans a wide fixed range that is then cut to the data. -#}
with

subscription_versions as (select * from {{ ref('stg_billing__subscriptions') }}),

transactions as (select * from {{ ref('stg_billing__transactions') }}),

acquisition_costs as (select * from {{ ref('stg_marketing__acquisition_costs') }}),

record_dates as (

    select cast(valid_from as date) as record_date from subscription_versions
    union all
    select cast(created_at as date) as record_date from transactions
    union all
    select cost_date as record_date from acquisition_costs

),

data_bounds as (

    select
        min(record_date) as first_date,
        max(record_date) as as_of_date
    from record_dates

),

wide_spine as (

    {{ dbt.date_spine(
        'day',
        "cast('" ~ var('revenue_spine_start_date', '2015-01-01') ~ "' as date)",
        "cast('" ~ var('revenue_spine_end_date', '2036-01-01') ~ "' as date)",
    ) }}

),

days_in_range as (

    select
        cast(wide_spine.date_day as date) as calendar_date,
        data_bounds.as_of_date
    from wide_spine
    cross join data_bounds
    where
        cast(wide_spine.date_day as date) >= data_bounds.first_date
        and cast(wide_spine.date_day as date) <= data_bounds.as_of_date

),

days_described as (

    select
        calendar_date,
        cast({{ dbt.date_trunc('month', 'calendar_date') }} as date) as month_start_date,
        cast({{ dbt.last_day('calendar_date', 'month') }} as date) as month_end_date,
        as_of_date,
        cast({{ dbt.dateadd('day', 1, 'calendar_date') }} as timestamp) as next_day_start_at
    from days_in_range

),

final as (

    select
        calendar_date,
        month_start_date,
        month_end_date,
        calendar_date = month_end_date or calendar_date = as_of_date as is_month_measured_date,
        calendar_date = as_of_date as is_as_of_date,
        month_end_date <= as_of_date as is_month_complete,
        next_day_start_at
    from days_described

)

select * from final
