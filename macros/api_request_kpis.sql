{#- The request KPIs of one group of fct_api_requests rows (formulas documented in
    models/marts/operations/_operations__docs.md), for a bucket `bucket_seconds` long.
    Percentiles are computed from the group's own rows, never from finer buckets. -#}
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
    {{ opsmetrics.percentile_cont('response_time_ms', 0.5) }} as p50_latency_ms,
    {{ opsmetrics.percentile_cont('response_time_ms', 0.95) }} as p95_latency_ms,
    {{ opsmetrics.percentile_cont('response_time_ms', 0.99) }} as p99_latency_ms
{%- endmacro %}
