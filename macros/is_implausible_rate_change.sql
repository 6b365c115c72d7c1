{#- True when `rate` lies more than var max_fx_rate_daily_change_pct percent away from
    `reference` in either direction (measured as the larger ratio of the two, so a
    halving and a doubling count alike). Both rates must be positive. -#}
{% macro is_implausible_rate_change(rate, reference) -%}
    greatest({{ rate }} / {{ reference }}, {{ reference }} / {{ rate }})
    > 1 + {{ var('max_fx_rate_daily_change_pct') }} / 100.0
{%- endmacro %}
