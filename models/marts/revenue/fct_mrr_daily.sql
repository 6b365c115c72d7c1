{#- Company-wide MRR at the end of every day of the revenue calendar. -#}
with

days as (select * from {{ ref('int_revenue_days_spined') }}),

customer_days as (select * from {{ ref('fct_customer_mrr_daily') }}),

daily_totals as (

    select
        mrr_date,
        sum(mrr_amount) as mrr_amount,
        count(case when is_active then 1 end) as active_customers
    from customer_days
    group by mrr_date

),

final as (

    select
        cast(coalesce(daily_totals.mrr_amount, 0) as numeric(18, 6)) as mrr_amount,
        cast(coalesce(daily_totals.mrr_amount, 0) * 12 as numeric(18, 6)) as arr_amount,
        cast(coalesce(daily_totals.active_customers, 0) as integer) as active_customers,
        cast(
            daily_totals.mrr_amount as {{ opsmetrics.type_double() }}
        ) / nullif(daily_totals.active_customers, 0) as arpa_amount,
        days.calendar_date as mrr_date,
        days.month_start_date
    from days
    left join daily_totals
        on days.calendar_date = daily_totals.mrr_date

)

select * from final
