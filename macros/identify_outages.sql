{#- The CTEs that find outages in the health checks of the CTE `checks` (check_id, service,
    is_up, checked_at), ending with `outages_identified`. An outage is a run of consecutive
    down checks of one service (gaps and islands). It lasts from its first down check to
    the first check after the run (the probe that saw the service up again); an outage
    still running at the last check ends at its last down check. A run that begins with
    the first check read counts as starting there: callers reading a slice of the checks
    must read enough preceding ones. -#}
{% macro identify_outages(checks) -%}
checks_sequenced as (

    select
        check_id,
        service,
        is_up,
        lag(is_up) over (
            partition by service order by checked_at, check_id
        ) as is_previous_up,
        checked_at,
        lead(checked_at) over (
            partition by service order by checked_at, check_id
        ) as next_checked_at
    from {{ checks }}

),

outage_starts_flagged as (

    select
        *,
        case when not is_up and coalesce(is_previous_up, true) then 1 else 0 end
            as is_outage_start
    from checks_sequenced

),

outages_numbered as (

    select
        *,
        cast(sum(is_outage_start) over (
            partition by service order by checked_at, check_id
            rows between unbounded preceding and current row
        ) as bigint) as outage_number
    from outage_starts_flagged

),

outages_grouped as (

    select
        service,
        outage_number,
        count(*) as down_checks,
        min(checked_at) as started_at,
        coalesce(max(next_checked_at), max(checked_at)) as ended_at
    from outages_numbered
    where not is_up
    group by service, outage_number

),

outages_identified as (

    select
        service,
        outage_number,
        down_checks,
        {#- milliseconds: check times carry fractions of a second. #}
        cast(
            {{ opsmetrics.milliseconds_between('started_at', 'ended_at') }}
            as {{ opsmetrics.type_double() }}
        ) / 60000 as duration_minutes,
        cast(started_at as date) as started_on_date,
        started_at,
        ended_at
    from outages_grouped

)
{%- endmacro %}
