{#- The request KPIs of one group of fct_api_requests rows (formulas documented in
    models/marts/operations/_operations__docs.md), for a bucket `bucket_seconds` long.
    The three latency percentiles come as one array, `latency_percentiles_ms` (p50, p95,
    p99; one aggregate state per group, not three copies of its latencies), which
    api_request_kpi_columns splits. Percentiles are computed from the group's own
    rows, never from finer buckets. -#}
{% macro api_request_kpis(bucket_seconds) -%}
    count(*) as requests,
    count(case when is_server_error then 1 end) as server_error_requests,
    count(case when is_client_error then 1 end) as client_error_requests,
    cast(count(*) as {{ opsmetrics.type_double() }}) / {{ bucket_seconds }} as throughput_rps,
    cast(count(case when is_server_error then 1 end) as {{ opsmetrics.type_double() }})
    * 100 / count(*) as error_rate_pct,
    cast(count(case when is_client_error then 1 end) as {{ opsmetrics.type_double() }})
    * 100 / count(*) as client_error_rate_pct,
    {{ opsmetrics.exact_avg('response_time_ms') }} as avg_latency_ms,
    {{ opsmetrics.percentiles_cont('response_time_ms', [0.5, 0.95, 0.99]) }}
    as latency_percentiles_ms
{%- endmacro %}
