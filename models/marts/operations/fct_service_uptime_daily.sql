{{ config(opsmetrics.days_rebuilt_config('check_date')) }}

{% set cutoff = opsmetrics.incremental_load_cutoff('last_loaded_at') %}
{%- if cutoff %}
    {%- set first_reloaded_date = opsmetrics.first_reloaded_day(
        ref('base_platform__health_checks'), 'checked_at', cutoff
    ) %}
    {%- set read_from_date = 'cast(' ~ dbt.dateadd(
        'day', -1 * var('ops_outage_lookback_days'), first_reloaded_date
    ) ~ ' as date)' %}
{%- endif %}

{#- Incremental runs rebuild whole days from the first day holding a version of a check
    with a version loaded since the cutoff, reading the staged checks from var
    ops_outage_lookback_days earlier, so an outage already running on that day is found
    where it started and the day it started is rebuilt too. -#}
-- depends_on: {{ ref('base_platform__health_checks') }}

with

checks as (

    select * from {{ ref('stg_platform__health_checks') }}
    {%- if cutoff %}
    where checked_at >= cast({{ read_from_date }} as timestamp)
    {%- endif %}

),

{{ opsmetrics.identify_outages('checks') }},

{%- if cutoff %}

{# The first re-loaded day, and the start day of every outage still running into it or
    ended by a check on or after it: its duration may have changed. -#}
rebuild_dates as (

    select {{ first_reloaded_date }} as check_date
    union all
    select started_on_date as check_date
    from outages_identified
    where ended_at >= cast({{ first_reloaded_date }} as timestamp)

),
{%- endif %}

checks_in_scope as (

    select * from checks
    {%- if cutoff %}
    where cast(checked_at as date) >= (select min(rebuild_dates.check_date) from rebuild_dates)
    {%- endif %}

),

outages_in_scope as (

    select * from outages_identified
    {%- if cutoff %}
    where started_on_date >= (select min(rebuild_dates.check_date) from rebuild_dates)
    {%- endif %}

),

checks_counted as (

    select
        service,
        count(*) as checks,
        count(case when is_up then 1 end) as up_checks,
        count(case when not is_up then 1 end) as down_checks,
        cast(checked_at as date) as check_date,
        max(_loaded_at) as last_loaded_at
    from checks_in_scope
    group by service, cast(checked_at as date)

),

{# An outage counts towards the period it started in (it is not split at the boundary). -#}
outages_summarised as (

    select
        service,
        started_on_date as check_date,
        count(*) as outages,
        max(duration_minutes) as longest_outage_minutes
    from outages_in_scope
    group by service, started_on_date

),

final as (

    select
        checks_counted.service,
        checks_counted.checks,
        checks_counted.up_checks,
        checks_counted.down_checks,
        cast(checks_counted.up_checks as {{ opsmetrics.type_double() }}) * 100
        / checks_counted.checks
            as uptime_pct,
        coalesce(outages_summarised.outages, 0) as outages,
        coalesce(outages_summarised.longest_outage_minutes, 0) as longest_outage_minutes,
        checks_counted.check_date,
        checks_counted.last_loaded_at
    from checks_counted
    left join outages_summarised
        on
            checks_counted.service = outages_summarised.service
            and checks_counted.check_date = outages_summarised.check_date

)

select * from final
