{#- Month x acquisition channel: acquisition costs, the customers they bought (a `new`
    movement that month, attributed to the customer's acquisition channel), CAC and the
    channel's ARPA for CAC payback. Dense over every month and every seeded channel. -#}
with

acquisition_costs as (select * from {{ ref('stg_marketing__acquisition_costs') }}),

channels as (select * from {{ ref('channels') }}),

days as (select * from {{ ref('int_revenue_days_spined') }}),

customer_months as (select * from {{ ref('fct_customer_mrr_monthly') }}),

customers as (select * from {{ ref('dim_customers') }}),

month_ends as (

    select
        month_start_date,
        is_month_complete
    from days
    where is_month_measured_date

),

channel_months as (

    select
        month_ends.month_start_date,
        month_ends.is_month_complete,
        channels.acquisition_channel
    from month_ends
    cross join channels

),

costs_by_channel_month as (

    select
        acquisition_channel,
        cast({{ dbt.date_trunc('month', 'cost_date') }} as date) as month_start_date,
        {{ opsmetrics.exact_sum("case when category = 'marketing' then amount else 0 end") }}
            as marketing_cost_amount,
        {{ opsmetrics.exact_sum("case when category = 'sales' then amount else 0 end") }}
            as sales_cost_amount
    from acquisition_costs
    where category in ('marketing', 'sales')
    group by
        acquisition_channel,
        cast({{ dbt.date_trunc('month', 'cost_date') }} as date)

),

customers_by_channel_month as (

    select
        customers.acquisition_channel,
        customer_months.month_start_date,
        count(
            case when customer_months.mrr_movement_type = 'new' then 1 end
        ) as new_customers,
        sum(customer_months.new_mrr_amount) as new_mrr_amount,
        count(case when customer_months.is_active then 1 end) as active_customers,
        sum(customer_months.mrr_amount) as mrr_amount
    from customer_months
    inner join customers
        on customer_months.customer_id = customers.customer_id
    group by customers.acquisition_channel, customer_months.month_start_date

),

joined as (

    select
        channel_months.acquisition_channel,
        channel_months.month_start_date,
        channel_months.is_month_complete,
        coalesce(costs_by_channel_month.marketing_cost_amount, 0) as marketing_cost_amount,
        coalesce(costs_by_channel_month.sales_cost_amount, 0) as sales_cost_amount,
        coalesce(customers_by_channel_month.new_customers, 0) as new_customers,
        coalesce(customers_by_channel_month.new_mrr_amount, 0) as new_mrr_amount,
        coalesce(customers_by_channel_month.active_customers, 0) as active_customers,
        coalesce(customers_by_channel_month.mrr_amount, 0) as mrr_amount
    from channel_months
    left join costs_by_channel_month
        on
            channel_months.acquisition_channel = costs_by_channel_month.acquisition_channel
            and channel_months.month_start_date = costs_by_channel_month.month_start_date
    left join customers_by_channel_month
        on
            channel_months.acquisition_channel = customers_by_channel_month.acquisition_channel
            and channel_months.month_start_date = customers_by_channel_month.month_start_date

),

ratios as (

    select
        *,
        cast(marketing_cost_amount + sales_cost_amount as {{ opsmetrics.type_double() }})
        / nullif(new_customers, 0) as cac_amount,
        cast(mrr_amount as {{ opsmetrics.type_double() }}) / nullif(active_customers, 0)
            as arpa_amount
    from joined

),

final as (

    select
        acquisition_channel,
        cast(marketing_cost_amount as {{ opsmetrics.type_double() }}) as marketing_cost_amount,
        cast(sales_cost_amount as {{ opsmetrics.type_double() }}) as sales_cost_amount,
        cast(marketing_cost_amount + sales_cost_amount as {{ opsmetrics.type_double() }})
            as acquisition_cost_amount,
        cast(new_customers as integer) as new_customers,
        cast(new_mrr_amount as numeric(18, 6)) as new_mrr_amount,
        cast(active_customers as integer) as active_customers,
        cast(mrr_amount as numeric(18, 6)) as mrr_amount,
        cac_amount,
        arpa_amount,
        cac_amount / nullif(arpa_amount, 0) as cac_payback_months,
        is_month_complete,
        month_start_date
    from ratios

)

select * from final
