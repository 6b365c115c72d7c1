with

checks as (

    select * from {{ ref('stg_platform__health_checks') }}

),

outages as (

    select * from {{ ref('int_outages_identified') }}

),

checks_counted as (

    select
        service,
        cast(checked_at as date) as check_date,
        count(*) as checks,
        count(*) filter (where is_up) as up_checks,
        count(*) filter (where not is_up) as down_checks
    from checks
    group by service, cast(checked_at as date)

),

{# An outage counts towards the period it started in (it is not split at the boundary). -#}
outages_summarised as (

    select
        service,
        started_on_date as check_date,
        count(*) as outages,
        max(duration_minutes) as longest_outage_minutes
    from outages
    group by service, started_on_date

),

final as (

    select
        checks_counted.service,
        checks_counted.checks,
        checks_counted.up_checks,
        checks_counted.down_checks,
        cast(checks_counted.up_checks as double precision) * 100 / checks_counted.checks
            as uptime_pct,
        coalesce(outages_summarised.outages, 0) as outages,
        coalesce(outages_summarised.longest_outage_minutes, 0) as longest_outage_minutes,
        checks_counted.check_date
    from checks_counted
    left join outages_summarised
        on
            checks_counted.service = outages_summarised.service
            and checks_counted.check_date = outages_summarised.check_date

)

select * from final
