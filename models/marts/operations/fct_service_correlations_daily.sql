{#- Rolling correlations per service, one row per pair and window end day. Points:
    hourly (mean CPU utilisation of the service's hosts, exact p95 latency of its requests)
    for hours with both; daily (uptime %, mean CSAT score or NPS of all responses that day)
    for days with both. A window ends on every day holding a point of the pair and covers
    window_days calendar days up to it. Spearman is Pearson over the average ranks (ties,
    values equal to 9 decimals, share the mean of their ranks), ranked within each window.
    A correlation is null when either side is constant in the window (or fewer than two
    points). -#}
{%- set double = opsmetrics.type_double() %}
with

requests as (select * from {{ ref('fct_api_requests') }}),

utilization as (select * from {{ ref('fct_resource_utilization_hourly') }}),

uptime as (select * from {{ ref('fct_service_uptime_daily') }}),

responses as (select * from {{ ref('fct_survey_responses') }}),

latency_hourly as (

    select
        service,
        {{ opsmetrics.percentile_cont('response_time_ms', 0.95) }} as p95_latency_ms,
        {{ dbt.date_trunc('hour', 'requested_at') }} as hour_start
    from requests
    group by service, {{ dbt.date_trunc('hour', 'requested_at') }}

),

cpu_hourly as (

    select
        service,
        avg(avg_cpu_utilization_pct) as cpu_utilization_pct,
        hour_start
    from utilization
    where avg_cpu_utilization_pct is not null
    group by service, hour_start

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
    group by submitted_date

),

points as (

    select
        cpu_hourly.service,
        'cpu_utilization_vs_latency_p95' as correlation_pair,
        7 as window_days,
        cpu_hourly.cpu_utilization_pct as x_value,
        latency_hourly.p95_latency_ms as y_value,
        cast(cpu_hourly.hour_start as date) as point_date
    from cpu_hourly
    inner join latency_hourly
        on
            cpu_hourly.service = latency_hourly.service
            and cpu_hourly.hour_start = latency_hourly.hour_start
    union all
    select
        uptime.service,
        'uptime_vs_csat_score' as correlation_pair,
        30 as window_days,
        uptime.uptime_pct as x_value,
        cast(sentiment_daily.csat_score as {{ double }}) as y_value,
        uptime.check_date as point_date
    from uptime
    inner join sentiment_daily
        on uptime.check_date = sentiment_daily.submitted_date
    where sentiment_daily.csat_score is not null
    union all
    select
        uptime.service,
        'uptime_vs_nps' as correlation_pair,
        30 as window_days,
        uptime.uptime_pct as x_value,
        sentiment_daily.nps as y_value,
        uptime.check_date as point_date
    from uptime
    inner join sentiment_daily
        on uptime.check_date = sentiment_daily.submitted_date
    where sentiment_daily.nps is not null

),

window_ends as (

    select distinct
        service,
        correlation_pair,
        window_days,
        point_date as window_end_date
    from points

),

window_points as (

    select
        window_ends.service,
        window_ends.correlation_pair,
        window_ends.window_days,
        window_ends.window_end_date,
        points.x_value,
        points.y_value
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
        window_end_date
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
            when window_days = 7 then {{ var('correlation_min_hourly_points') }}
            else {{ var('correlation_min_daily_points') }}
        end as is_too_few_points,
        window_end_date
    from correlated

)

select * from final
