{#- The SLO KPIs of a row carrying requests, good_requests, bad_requests, p95_latency_ms
    and the service's targets (formulas documented in _operations__docs.md). Written as
    (100 - target) / 100 rather than 1 - target / 100 so round targets stay exact. -#}
{% macro slo_kpis() -%}
    cast(good_requests as {{ opsmetrics.type_double() }}) * 100 / requests as availability_pct,
    (100 - availability_target_pct) * requests / 100 as error_budget_requests,
    bad_requests as error_budget_consumed_requests,
    (
        (100 - availability_target_pct) * requests / 100 - bad_requests
    ) * 100 / ((100 - availability_target_pct) * requests / 100) as error_budget_remaining_pct,
    cast(bad_requests as {{ opsmetrics.type_double() }}) * 100
    / (requests * (100 - availability_target_pct)) as burn_rate,
    cast(good_requests as {{ opsmetrics.type_double() }}) * 100 / requests
    >= availability_target_pct as is_availability_target_met,
    p95_latency_ms <= latency_p95_target_ms as is_latency_target_met
{%- endmacro %}
