{#- Summed from the daily rows (outages count towards the day, hence the month, they
    started in), so it is exact without reading the checks again. A table: a few rows per
    service and month, cheaper to rebuild than to merge. -#}
with

days as (

    select * from {{ ref('fct_service_uptime_daily') }}

),

months_summed as (

    select
        service,
        cast(sum(checks) as bigint) as checks,
        cast(sum(up_checks) as bigint) as up_checks,
        cast(sum(down_checks) as bigint) as down_checks,
        cast(sum(outages) as bigint) as outages,
        max(longest_outage_minutes) as longest_outage_minutes,
        cast({{ dbt.date_trunc('month', 'check_date') }} as date) as check_month
    from days
    group by service, cast({{ dbt.date_trunc('month', 'check_date') }} as date)

),

final as (

    select
        service,
        checks,
        up_checks,
        down_checks,
        cast(up_checks as {{ opsmetrics.type_double() }}) * 100 / checks as uptime_pct,
        outages,
        longest_outage_minutes,
        check_month
    from months_summed

)

select * from final
