{#- Sum (or mean) of a double expression that does not depend on the order rows are
    added in: each value is rounded to `scale` decimals as numeric and summed exactly,
    then returned as double precision. A plain double sum over parallel aggregation
    differs in the last bits between identical builds. Rounding each value to 1e-9
    changes no reported figure (money is quoted in cents, latency in ms). -#}
{% macro exact_sum(expression, scale=9) -%}
    cast(sum(cast({{ expression }} as numeric(38, {{ scale }}))) as double precision)
{%- endmacro %}

{% macro exact_avg(expression, scale=9) -%}
    cast(
        sum(cast({{ expression }} as numeric(38, {{ scale }})))
        / nullif(count({{ expression }}), 0)
        as double precision
    )
{%- endmacro %}
