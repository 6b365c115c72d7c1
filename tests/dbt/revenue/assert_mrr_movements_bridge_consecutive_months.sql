{#- The movement invariant across consecutive month rows of the company-wide fact:
    MRR(M) = MRR(M-1) + new + reactivation + expansion - contraction - churn, with MRR(M-1)
    read from the previous month's own row (the first month starts from 0). -#}
with

months as (select * from {{ ref('fct_mrr_monthly') }}),

bridged as (

    select
        this_month.month_start_date,
        this_month.mrr_amount,
        coalesce(previous_month.mrr_amount, 0)
        + this_month.new_mrr_amount
        + this_month.reactivation_mrr_amount
        + this_month.expansion_mrr_amount
        - this_month.contraction_mrr_amount
        - this_month.churned_mrr_amount as bridged_mrr_amount
    from months as this_month
    left join months as previous_month
        on previous_month.month_start_date = cast(
                {{ dbt.dateadd('month', -1, 'this_month.month_start_date') }} as date
            )

)

select *
from bridged
where mrr_amount <> bridged_mrr_amount
