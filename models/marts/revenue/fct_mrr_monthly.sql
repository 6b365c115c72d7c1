{#- Company-wide month totals: MRR, ARR and movements, customer counts, churn, retention,
    CAC, ARPA, LTV. One row per month of the revenue calendar. -#}
{%- set double = opsmetrics.type_double() %}
with

days as (select * from {{ ref('int_revenue_days_spined') }}),

customer_months as (select * from {{ ref('fct_customer_mrr_monthly') }}),

acquisition as (select * from {{ ref('fct_acquisition_monthly') }}),

month_ends as (

    select
        month_start_date,
        calendar_date as measured_date,
        is_month_complete
    from days
    where is_month_measured_date

),

customer_totals as (

    select
        month_start_date,
        sum(mrr_amount) as mrr_amount,
        sum(previous_mrr_amount) as starting_mrr_amount,
        sum(new_mrr_amount) as new_mrr_amount,
        sum(reactivation_mrr_amount) as reactivation_mrr_amount,
        sum(expansion_mrr_amount) as expansion_mrr_amount,
        sum(contraction_mrr_amount) as contraction_mrr_amount,
        sum(churned_mrr_amount) as churned_mrr_amount,
        sum(
            case when mrr_12_months_earlier_amount > 0 then mrr_12_months_earlier_amount end
        ) as t12m_cohort_starting_mrr_amount,
        sum(
            case when mrr_12_months_earlier_amount > 0 then mrr_amount end
        ) as t12m_cohort_mrr_amount,
        sum(
            case
                when mrr_12_months_earlier_amount > 0
                    then case
                            when mrr_amount < mrr_12_months_earlier_amount then mrr_amount
                            else mrr_12_months_earlier_amount
                        end
            end
        ) as t12m_cohort_capped_mrr_amount,
        count(case when is_active then 1 end) as active_customers,
        count(case when was_active_previous_month then 1 end) as starting_active_customers,
        count(case when mrr_movement_type = 'new' then 1 end) as new_customers,
        count(case when mrr_movement_type = 'reactivation' then 1 end) as reactivated_customers,
        count(case when mrr_movement_type = 'expansion' then 1 end) as expansion_customers,
        count(case when mrr_movement_type = 'contraction' then 1 end) as contraction_customers,
        count(case when mrr_movement_type = 'churn' then 1 end) as churned_customers
    from customer_months
    group by month_start_date

),

acquisition_totals as (

    select
        month_start_date,
        {{ opsmetrics.exact_sum('acquisition_cost_amount') }} as acquisition_cost_amount
    from acquisition
    group by month_start_date

),

months_joined as (

    select
        month_ends.month_start_date,
        month_ends.measured_date,
        month_ends.is_month_complete,
        coalesce(customer_totals.mrr_amount, 0) as mrr_amount,
        coalesce(customer_totals.starting_mrr_amount, 0) as starting_mrr_amount,
        coalesce(customer_totals.new_mrr_amount, 0) as new_mrr_amount,
        coalesce(customer_totals.reactivation_mrr_amount, 0) as reactivation_mrr_amount,
        coalesce(customer_totals.expansion_mrr_amount, 0) as expansion_mrr_amount,
        coalesce(customer_totals.contraction_mrr_amount, 0) as contraction_mrr_amount,
        coalesce(customer_totals.churned_mrr_amount, 0) as churned_mrr_amount,
        coalesce(
            customer_totals.t12m_cohort_starting_mrr_amount, 0
        ) as t12m_cohort_starting_mrr_amount,
        coalesce(customer_totals.t12m_cohort_mrr_amount, 0) as t12m_cohort_mrr_amount,
        coalesce(
            customer_totals.t12m_cohort_capped_mrr_amount, 0
        ) as t12m_cohort_capped_mrr_amount,
        coalesce(customer_totals.active_customers, 0) as active_customers,
        coalesce(customer_totals.starting_active_customers, 0) as starting_active_customers,
        coalesce(customer_totals.new_customers, 0) as new_customers,
        coalesce(customer_totals.reactivated_customers, 0) as reactivated_customers,
        coalesce(customer_totals.expansion_customers, 0) as expansion_customers,
        coalesce(customer_totals.contraction_customers, 0) as contraction_customers,
        coalesce(customer_totals.churned_customers, 0) as churned_customers,
        coalesce(acquisition_totals.acquisition_cost_amount, 0) as acquisition_cost_amount
    from month_ends
    left join customer_totals
        on month_ends.month_start_date = customer_totals.month_start_date
    left join acquisition_totals
        on month_ends.month_start_date = acquisition_totals.month_start_date

),

{# Months are dense (calendar spine), so lag(n) is exactly n months earlier. -#}
rates as (

    select
        *,
        cast(mrr_amount * 12 as numeric(18, 6)) as arr_amount,
        100.0 * (
            cast(mrr_amount as {{ double }})
            - lag(cast(mrr_amount as {{ double }}), 1) over (order by month_start_date)
        ) / nullif(lag(cast(mrr_amount as {{ double }}), 1) over (
            order by month_start_date
        ), 0) as arr_growth_mom_pct,
        100.0 * (
            cast(mrr_amount as {{ double }})
            - lag(cast(mrr_amount as {{ double }}), 12) over (order by month_start_date)
        ) / nullif(lag(cast(mrr_amount as {{ double }}), 12) over (
            order by month_start_date
        ), 0) as arr_growth_yoy_pct,
        100.0 * cast(
            starting_active_customers
            - (active_customers - (new_customers + reactivated_customers)) as {{ double }}
        ) / nullif(starting_active_customers, 0) as logo_churn_rate_pct,
        100.0 * cast(churned_mrr_amount + contraction_mrr_amount as {{ double }})
        / nullif(cast(starting_mrr_amount as {{ double }}), 0) as gross_mrr_churn_rate_pct,
        100.0 * cast(
            starting_mrr_amount - contraction_mrr_amount - churned_mrr_amount as {{ double }}
        ) / nullif(cast(starting_mrr_amount as {{ double }}), 0) as grr_pct,
        100.0 * cast(
            starting_mrr_amount + expansion_mrr_amount - contraction_mrr_amount
            - churned_mrr_amount as {{ double }}
        ) / nullif(cast(starting_mrr_amount as {{ double }}), 0) as nrr_pct,
        100.0 * cast(t12m_cohort_capped_mrr_amount as {{ double }})
        / nullif(cast(t12m_cohort_starting_mrr_amount as {{ double }}), 0) as grr_t12m_pct,
        100.0 * cast(t12m_cohort_mrr_amount as {{ double }})
        / nullif(cast(t12m_cohort_starting_mrr_amount as {{ double }}), 0) as nrr_t12m_pct,
        cast(mrr_amount as {{ double }}) / nullif(active_customers, 0) as arpa_amount,
        cast(acquisition_cost_amount as {{ double }})
        / nullif(new_customers, 0) as cac_amount
    from months_joined

),

lifetime as (

    select
        *,
        avg(logo_churn_rate_pct) over (
            order by month_start_date rows between 2 preceding and current row
        ) as logo_churn_rate_t3m_avg_pct
    from rates

),

lifetime_value as (

    select
        *,
        arpa_amount / nullif(logo_churn_rate_t3m_avg_pct / 100.0, 0) as ltv_amount
    from lifetime

),

final as (

    select
        cast(mrr_amount as numeric(18, 6)) as mrr_amount,
        arr_amount,
        cast(starting_mrr_amount as numeric(18, 6)) as starting_mrr_amount,
        cast(new_mrr_amount as numeric(18, 6)) as new_mrr_amount,
        cast(reactivation_mrr_amount as numeric(18, 6)) as reactivation_mrr_amount,
        cast(expansion_mrr_amount as numeric(18, 6)) as expansion_mrr_amount,
        cast(contraction_mrr_amount as numeric(18, 6)) as contraction_mrr_amount,
        cast(churned_mrr_amount as numeric(18, 6)) as churned_mrr_amount,
        cast(
            t12m_cohort_starting_mrr_amount as numeric(18, 6)
        ) as t12m_cohort_starting_mrr_amount,
        cast(t12m_cohort_mrr_amount as numeric(18, 6)) as t12m_cohort_mrr_amount,
        cast(t12m_cohort_capped_mrr_amount as numeric(18, 6)) as t12m_cohort_capped_mrr_amount,
        cast(active_customers as integer) as active_customers,
        cast(starting_active_customers as integer) as starting_active_customers,
        cast(new_customers as integer) as new_customers,
        cast(reactivated_customers as integer) as reactivated_customers,
        cast(expansion_customers as integer) as expansion_customers,
        cast(contraction_customers as integer) as contraction_customers,
        cast(churned_customers as integer) as churned_customers,
        arr_growth_mom_pct,
        arr_growth_yoy_pct,
        logo_churn_rate_pct,
        logo_churn_rate_t3m_avg_pct,
        gross_mrr_churn_rate_pct,
        grr_pct,
        nrr_pct,
        grr_t12m_pct,
        nrr_t12m_pct,
        cast(acquisition_cost_amount as {{ double }}) as acquisition_cost_amount,
        cac_amount,
        arpa_amount,
        ltv_amount,
        ltv_amount / nullif(cac_amount, 0) as ltv_to_cac_ratio,
        cac_amount / nullif(arpa_amount, 0) as cac_payback_months,
        is_month_complete,
        month_start_date,
        measured_date
    from lifetime_value

)

select * from final
