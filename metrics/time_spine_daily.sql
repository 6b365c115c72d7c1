{#- MetricFlow's daily time spine: one row per day, wide enough for any history the
    generator or a real source produces. It is a table in marts so every warehouse has it. -#}
{{ config(materialized='table', schema='marts') }}

with

days as (

    {{ dbt.date_spine(
        datepart='day',
        start_date="cast('2015-01-01' as date)",
        end_date="cast('2041-01-01' as date)",
    ) }}

),

days_typed as (

    select cast(date_day as date) as date_day
    from days

)

select * from days_typed
