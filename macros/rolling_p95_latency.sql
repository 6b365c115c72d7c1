{#- The body of fct_slo_rolling_28d's CTE `window_latencies`: per service and day, the
    exact p95 response time over the requests of the service's rolling window
    (slo_targets.window_days days ending that day). Reads the model's CTEs `requests`,
    `slo_targets` and `window_days` (on an incremental run, a `cutoff`, only the windows
    it rebuilds). -#}
{% macro rolling_p95_latency(cutoff) -%}
    {{ return(adapter.dispatch('rolling_p95_latency', 'opsmetrics')(cutoff)) }}
{%- endmacro %}

{#- Each window joined to the requests of its days: every request is read once per window
    holding it (window_days times), then grouped. -#}
{% macro default__rolling_p95_latency(cutoff) -%}
    select
        window_days.service,
        window_days.slo_date,
        {{ opsmetrics.percentile_cont('requests.response_time_ms', 0.95) }} as p95_latency_ms
    from window_days
    inner join requests
        on
            window_days.service = requests.service
            and window_days.request_date = requests.request_date
    group by window_days.service, window_days.slo_date
{%- endmacro %}

{#- On a full build, DuckDB's windowed quantile over a date range frame reads each request
    once: the join above repeats the 10 M requests of the medium data set 28 times and
    spilled over 10 GB. The frame holds every request of the window's days (a RANGE frame
    includes the current day's peers), so each request row of a day carries that day's
    window p95. But it computes that p95 again for every request row (14 µs each at
    medium): an incremental run, whose windows are few, takes the join above, four times
    cheaper for the medium daily run with the same values (docs/decisions.md, Issue 13
    session 11). -#}
{% macro duckdb__rolling_p95_latency(cutoff) -%}
    {%- if cutoff -%}
    {{ opsmetrics.default__rolling_p95_latency(cutoff) }}
    {%- else -%}
    select
        service,
        slo_date,
        p95_latency_ms
    from (
        select
            requests.service,
            requests.request_date as slo_date,
            quantile_cont(requests.response_time_ms, 0.95) over (
                partition by requests.service
                order by requests.request_date
                range between interval (slo_targets.window_days - 1) day preceding and current row
            ) as p95_latency_ms,
            row_number() over (
                partition by requests.service, requests.request_date
            ) as day_row_number
        from requests
        inner join slo_targets on requests.service = slo_targets.service
    ) as request_windows
    where day_row_number = 1
    {%- endif %}
{%- endmacro %}
