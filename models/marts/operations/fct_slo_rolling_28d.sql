{{ config(opsmetrics.days_rebuilt_config('slo_date')) }}

{% set cutoff = opsmetrics.incremental_load_cutoff('last_loaded_at') %}
-- depends_on: {{ ref('base_platform__api_requests') }}

with

requests as (

    select * from {{ ref('fct_api_requests') }}

),

slo_days as (

    select * from {{ ref('fct_slo_daily') }}

),

slo_targets as (

    select * from {{ ref('slo_targets') }}

),

{%- if cutoff %}

reloaded_dates as (

    {{ opsmetrics.reloaded_days(
        ref('base_platform__api_requests'), 'requested_at', cutoff, 'record_key'
    ) }}

),

{# Every day ending a window that holds a re-loaded day, for the longest window of any
    service: rows are replaced by day, for all services at once. Only those windows
    change, so a request re-loaded on an old day rebuilds its 28 windows, not every
    window since. -#}
rebuilt_dates as (

    select distinct slo_days.slo_date
    from slo_days
    cross join slo_targets
    inner join reloaded_dates
        on
            reloaded_dates.reloaded_date <= slo_days.slo_date
            and reloaded_dates.reloaded_date >= cast(
                {{ dbt.dateadd('day', '1 - slo_targets.window_days', 'slo_days.slo_date') }}
                as date
            )

),
{%- endif %}

{# A window ends on every day the service served requests. -#}
windows as (

    select
        slo_days.service,
        slo_targets.window_days,
        cast(
            {{ dbt.dateadd('day', '1 - slo_targets.window_days', 'slo_days.slo_date') }}
            as date
        ) as window_start_date,
        slo_days.slo_date
    from slo_days
    inner join slo_targets on slo_days.service = slo_targets.service
    {%- if cutoff %}
    where slo_days.slo_date in (select rebuilt_dates.slo_date from rebuilt_dates)
    {%- endif %}

),

{# Each window paired with the days inside it, so requests join on equality
    (service, date) instead of a range: one pass, no range join over request rows. -#}
window_days as (

    select
        windows.service,
        windows.window_days,
        windows.window_start_date,
        windows.slo_date,
        slo_days.slo_date as request_date,
        slo_days.requests,
        slo_days.good_requests,
        slo_days.bad_requests,
        slo_days.last_loaded_at
    from windows
    inner join slo_days
        on
            windows.service = slo_days.service
            and windows.window_start_date <= slo_days.slo_date
            and windows.slo_date >= slo_days.slo_date

),

window_counts as (

    select
        service,
        window_days,
        window_start_date,
        slo_date,
        sum(requests) as requests,
        sum(good_requests) as good_requests,
        sum(bad_requests) as bad_requests,
        max(last_loaded_at) as last_loaded_at
    from window_days
    group by service, window_days, window_start_date, slo_date

),

window_latencies as (

    {{ opsmetrics.rolling_p95_latency(cutoff) }}

),

targets_joined as (

    select
        window_counts.service,
        window_counts.window_days,
        cast(window_counts.requests as bigint) as requests,
        cast(window_counts.good_requests as bigint) as good_requests,
        cast(window_counts.bad_requests as bigint) as bad_requests,
        slo_targets.availability_target_pct,
        slo_targets.latency_p95_target_ms,
        window_latencies.p95_latency_ms,
        window_counts.window_start_date,
        window_counts.slo_date,
        window_counts.last_loaded_at
    from window_counts
    inner join window_latencies
        on
            window_counts.service = window_latencies.service
            and window_counts.slo_date = window_latencies.slo_date
    inner join slo_targets on window_counts.service = slo_targets.service

),

final as (

    select
        service,
        window_days,
        requests,
        good_requests,
        bad_requests,
        availability_target_pct,
        latency_p95_target_ms,
        p95_latency_ms,
        {{ opsmetrics.slo_kpis() }},
        window_start_date,
        slo_date,
        last_loaded_at
    from targets_joined

)

select * from final
