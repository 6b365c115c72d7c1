{#- Cash revenue per day from billing transactions: succeeded charges minus succeeded
    refunds; failed payments counted apart; pending ones ignored until they settle. -#}
{%- set double = opsmetrics.type_double() %}
with

transactions as (select * from {{ ref('stg_billing__transactions') }}),

days as (select * from {{ ref('int_revenue_days_spined') }}),

transactions_by_day as (

    select
        cast(created_at as date) as revenue_date,
        {{ opsmetrics.exact_sum(
            "case when transaction_type = 'charge' and status = 'succeeded' then amount else 0 end"
        ) }} as gross_charge_amount,
        {{ opsmetrics.exact_sum(
            "case when transaction_type = 'refund' and status = 'succeeded' then amount else 0 end"
        ) }} as refund_amount,
        count(
            case when transaction_type = 'charge' and status = 'succeeded' then 1 end
        ) as transaction_count,
        count(
            case when transaction_type = 'refund' and status = 'succeeded' then 1 end
        ) as refund_count,
        count(distinct case
            when transaction_type = 'charge' and status = 'succeeded' then customer_id
        end) as paying_customers,
        count(
            case when transaction_type = 'charge' and status = 'failed' then 1 end
        ) as failed_payment_count,
        {{ opsmetrics.exact_sum(
            "case when transaction_type = 'charge' and status = 'failed' then amount else 0 end"
        ) }} as failed_payment_amount
    from transactions
    group by cast(created_at as date)

),

final as (

    select
        cast(
            coalesce(transactions_by_day.gross_charge_amount, 0)
            - coalesce(transactions_by_day.refund_amount, 0) as {{ double }}
        ) as revenue_amount,
        cast(coalesce(transactions_by_day.gross_charge_amount, 0) as {{ double }})
            as gross_charge_amount,
        cast(coalesce(transactions_by_day.refund_amount, 0) as {{ double }})
            as refund_amount,
        cast(
            transactions_by_day.gross_charge_amount as {{ double }}
        ) / nullif(transactions_by_day.transaction_count, 0) as average_transaction_amount,
        cast(coalesce(transactions_by_day.transaction_count, 0) as integer) as transaction_count,
        cast(coalesce(transactions_by_day.refund_count, 0) as integer) as refund_count,
        cast(coalesce(transactions_by_day.paying_customers, 0) as integer) as paying_customers,
        cast(
            coalesce(transactions_by_day.failed_payment_count, 0) as integer
        ) as failed_payment_count,
        cast(coalesce(transactions_by_day.failed_payment_amount, 0) as {{ double }})
            as failed_payment_amount,
        days.calendar_date as revenue_date
    from days
    left join transactions_by_day
        on days.calendar_date = transactions_by_day.revenue_date

)

select * from final
