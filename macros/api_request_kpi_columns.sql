{#- The KPI columns of a row aggregated by api_request_kpis, in order, with the latency
    percentiles split out of their array. -#}
{% macro api_request_kpi_columns() -%}
    requests,
    server_error_requests,
    client_error_requests,
    throughput_rps,
    error_rate_pct,
    client_error_rate_pct,
    avg_latency_ms,
    {{ opsmetrics.array_element('latency_percentiles_ms', 1) }} as p50_latency_ms,
    {{ opsmetrics.array_element('latency_percentiles_ms', 2) }} as p95_latency_ms,
    {{ opsmetrics.array_element('latency_percentiles_ms', 3) }} as p99_latency_ms
{%- endmacro %}
