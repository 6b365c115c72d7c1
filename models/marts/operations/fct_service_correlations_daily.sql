{{ config(opsmetrics.days_rebuilt_config('window_end_date')) }}

{% set cutoff = opsmetrics.incremental_load_cutoff('last_loaded_at') %}
{%- set hourly_window_days = 7 %}
{%- set daily_window_days = 30 %}

{#- Rolling correlations per service, one row per pair and window end day. Points:
    hourly (mean CPU utilisation of the service's hosts, exact p95 latency of its requests)
    for hours with both; daily (uptime %, mean CSAT score or NPS of all responses that day)
    for days with both. A window ends on every day holding a point of the pair and covers
    window_days calendar days up to it. Spearman is Pearson over the average ranks (ties,
    values equal to 9 decimals, share the mean of their ranks), ranked within each window.
    A correlation is null when either side is constant in the window (or fewer than two
    points).
    Incremental runs rebuild every window end day whose window can hold a point that may
    have changed since the last run (changed_dates: the days of every version of a row
    re-loaded since the cutoff, per input), for every pair, reading the points of the
    window_days before each such day only (docs/decisions.md, Issue 13 session 10). -#}
-- depends_on: {{ ref('base_platform__api_requests') }}
-- depends_on: {{ ref('base_platform__system_metrics') }}
-- depends_on: {{ ref('base_platform__health_checks') }}
-- depends_on: {{ ref('base_surveys__survey_responses') }}
-- depends_on: {{ ref('base_app__customers') }}
-- depends_on: {{ ref('base_app__users') }}
{%- set double = opsmetrics.type_double() %}
with

requests as (select * from {{ ref('fct_api_requests') }}),

utilization as (select * from {{ ref('fct_resource_utilization_hourly') }}),

uptime as (select * from {{ ref('fct_service_uptime_daily') }}),

responses as (select * from {{ ref('fct_survey_responses') }}),

{%- if cutoff %}

{# A staged survey response also changes when its customer or user is staged or dropped,
    i.e. when a version of the customer (or of the user, or of the user's customer) was
    loaded since the cutoff (rows without _loaded_at never change what is staged:
    reloaded_keys). -#}
reloaded_customers as (

    {{ opsmetrics.reloaded_keys(ref('base_app__customers'), cutoff) }}

),

reloaded_users as (

    {{ opsmetrics.reloaded_users(cutoff) }}

),

{# The days whose points may differ from the last run's, with the window of the pairs
    they are points of: request and host-sample days (hourly points), health-check and
    survey days (daily points). -#}
changed_dates as (
    {%- for base, time_column, key_column, window_days in [
        ('base_platform__api_requests', 'requested_at', 'record_key', hourly_window_days),
        ('base_platform__system_metrics', 'sampled_at', 'version_key', hourly_window_days),
        ('base_platform__health_checks', 'checked_at', 'version_key', daily_window_days),
        ('base_surveys__survey_responses', 'submitted_at', 'record_key', daily_window_days),
    ] %}

    select
        reloaded.reloaded_date,
        {{ window_days }} as window_days
    from ({{ opsmetrics.reloaded_days(ref(base), time_column, cutoff, key_column) }}) as reloaded
    union all
    {%- endfor %}

    select
        cast(versions.submitted_at as date) as reloaded_date,
        {{ daily_window_days }} as window_days
    from {{ ref('base_surveys__survey_responses') }} as versions
    where
        versions.submitted_at is not null
        and (
            versions.customer_id in (
                select reloaded_customers.record_key from reloaded_customers
            )
            or versions.user_id in (select reloaded_users.record_key from reloaded_users)
        )

),

{# A changed point on day d is in the windows ending d to d + window_days - 1. -#}
rebuilt_dates as (

    select distinct cast(rebuilt.rebuilt_at as date) as window_end_date
    from changed_dates
    {{ opsmetrics.date_series(
        'changed_dates.reloaded_date',
        dbt.dateadd('day', 'changed_dates.window_days - 1', 'changed_dates.reloaded_date'),
        'day', 'rebuilt', 'rebuilt_at'
    ) }}

),

{# Every pair of a rebuilt day is rebuilt (rows are replaced by day): the days whose
    points its hourly and daily windows read. -#}
hourly_point_dates as (

    select distinct cast(window_day.read_at as date) as point_date
    from rebuilt_dates
    {{ opsmetrics.date_series(
        dbt.dateadd(
            'day', 1 - hourly_window_days, 'rebuilt_dates.window_end_date'
        ),
        'rebuilt_dates.window_end_date',
        'day', 'window_day', 'read_at'
    ) }}

),

daily_point_dates as (

    select distinct cast(window_day.read_at as date) as point_date
    from rebuilt_dates
    {{ opsmetrics.date_series(
        dbt.dateadd(
            'day', 1 - daily_window_days, 'rebuilt_dates.window_end_date'
        ),
        'rebuilt_dates.window_end_date',
        'day', 'window_day', 'read_at'
    ) }}

),
{%- endif %}

latency_hourly as (

    select
        service,
        {{ opsmetrics.percentile_cont('response_time_ms', 0.95) }} as p95_latency_ms,
        {{ dbt.date_trunc('hour', 'requested_at') }} as hour_start,
        max(_loaded_at) as last_loaded_at
    from requests
    {%- if cutoff %}
    where request_date in (select hourly_point_dates.point_date from hourly_point_dates)
    {%- endif %}
    group by service, {{ dbt.date_trunc('hour', 'requested_at') }}

),

cpu_hourly as (

    select
        service,
        avg(avg_cpu_utilization_pct) as cpu_utilization_pct,
        hour_start,
        max(last_loaded_at) as last_loaded_at
    from utilization
    where avg_cpu_utilization_pct is not null
    {%- if cutoff %}
        and hour_date in (select hourly_point_dates.point_date from hourly_point_dates)
    {%- endif %}
    group by service, hour_start

),

uptime_in_scope as (

    select * from uptime
    {%- if cutoff %}
    where check_date in (select daily_point_dates.point_date from daily_point_dates)
    {%- endif %}

),

sentiment_daily as (

    select
        avg(case when survey_type = 'csat' then score end) as csat_score,
        cast(
            count(case when survey_type = 'nps' and nps_category = 'promoter' then 1 end)
            - count(case when survey_type = 'nps' and nps_category = 'detractor' then 1 end)
            as {{ double }}
        ) * 100
        / nullif(count(case when survey_type = 'nps' then 1 end), 0) as nps,
        submitted_date
    from responses
    {%- if cutoff %}
    where submitted_date in (select daily_point_dates.point_date from daily_point_dates)
    {%- endif %}
    group by submitted_date

),

{# A point's last_loaded_at is the latest load of the requests, host samples or health
    checks behind it (fct_survey_responses carries no load time). -#}
points as (

    select
        cpu_hourly.service,
        'cpu_utilization_vs_latency_p95' as correlation_pair,
        {{ hourly_window_days }} as window_days,
        cpu_hourly.cpu_utilization_pct as x_value,
        latency_hourly.p95_latency_ms as y_value,
        cast(cpu_hourly.hour_start as date) as point_date,
        greatest(cpu_hourly.last_loaded_at, latency_hourly.last_loaded_at) as last_loaded_at
    from cpu_hourly
    inner join latency_hourly
        on
            cpu_hourly.service = latency_hourly.service
            and cpu_hourly.hour_start = latency_hourly.hour_start
    union all
    select
        uptime_in_scope.service,
        'uptime_vs_csat_score' as correlation_pair,
        {{ daily_window_days }} as window_days,
        uptime_in_scope.uptime_pct as x_value,
        cast(sentiment_daily.csat_score as {{ double }}) as y_value,
        uptime_in_scope.check_date as point_date,
        uptime_in_scope.last_loaded_at
    from uptime_in_scope
    inner join sentiment_daily
        on uptime_in_scope.check_date = sentiment_daily.submitted_date
    where sentiment_daily.csat_score is not null
    union all
    select
        uptime_in_scope.service,
        'uptime_vs_nps' as correlation_pair,
        {{ daily_window_days }} as window_days,
        uptime_in_scope.uptime_pct as x_value,
        sentiment_daily.nps as y_value,
        uptime_in_scope.check_date as point_date,
        uptime_in_scope.last_loaded_at
    from uptime_in_scope
    inner join sentiment_daily
        on uptime_in_scope.check_date = sentiment_daily.submitted_date
    where sentiment_daily.nps is not null

),

window_ends as (

    select distinct
        service,
        correlation_pair,
        window_days,
        point_date as window_end_date
    from points
    {%- if cutoff %}
    where point_date in (select rebuilt_dates.window_end_date from rebuilt_dates)
    {%- endif %}

),

window_points as (

    select
        window_ends.service,
        window_ends.correlation_pair,
        window_ends.window_days,
        window_ends.window_end_date,
        points.x_value,
        points.y_value,
        points.last_loaded_at
    from window_ends
    inner join points
        on
            window_ends.service = points.service
            and window_ends.correlation_pair = points.correlation_pair
            and window_ends.window_end_date >= points.point_date
            and points.point_date > {{ dbt.dateadd(
                'day', '-1 * window_ends.window_days', 'window_ends.window_end_date'
            ) }}

),

{# Ranked on values rounded to 9 decimals: two percentiles of the same latencies can
    differ in the last bit, which would split a genuine tie. -#}
window_points_rounded as (

    select
        *,
        round(cast(x_value as numeric(38, 12)), 9) as x_rank_value,
        round(cast(y_value as numeric(38, 12)), 9) as y_rank_value
    from window_points

),

window_points_ranked as (

    select
        *,
        rank()
            over (
                partition by service, correlation_pair, window_end_date order by x_rank_value
            )
        + cast(count(*) over (
            partition by service, correlation_pair, window_end_date, x_rank_value
        ) - 1 as {{ double }}) / 2 as x_rank,
        rank()
            over (
                partition by service, correlation_pair, window_end_date order by y_rank_value
            )
        + cast(count(*) over (
            partition by service, correlation_pair, window_end_date, y_rank_value
        ) - 1 as {{ double }}) / 2 as y_rank
    from window_points_rounded

),

correlated as (

    select
        service,
        correlation_pair,
        window_days,
        count(*) as points,
        case
            when min(x_value) < max(x_value) and min(y_value) < max(y_value)
                then corr(y_value, x_value)
        end as pearson_correlation,
        case
            when min(x_value) < max(x_value) and min(y_value) < max(y_value)
                then corr(y_rank, x_rank)
        end as spearman_correlation,
        window_end_date,
        max(last_loaded_at) as last_loaded_at
    from window_points_ranked
    group by service, correlation_pair, window_days, window_end_date

),

final as (

    select
        service,
        correlation_pair,
        window_days,
        points,
        {#- corr() over parallel aggregation differs in the last bits between builds:
            rounded to 9 decimals as numeric (Postgres rounds no double to a scale), the
            marts stay bit-identical (decisions.md). -#}
        cast(
            round(cast(pearson_correlation as numeric(38, 12)), 9) as {{ double }}
        )
            as pearson_correlation,
        cast(
            round(cast(spearman_correlation as numeric(38, 12)), 9) as {{ double }}
        )
            as spearman_correlation,
        points < case
            when window_days = {{ hourly_window_days }}
                then {{ var('correlation_min_hourly_points') }}
            else {{ var('correlation_min_daily_points') }}
        end as is_too_few_points,
        window_end_date,
        last_loaded_at
    from correlated

)

select * from final
