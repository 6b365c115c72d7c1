{#- Sum (or mean) of a double expression that does not depend on the order rows are
    added in: each value is rounded to `scale` decimals as numeric and summed exactly,
    then returned as {{ opsmetrics.type_double() }}. A plain double sum over parallel aggregation
    differs in the last bits between identical builds. Rounding each value to 1e-9
    changes no reported figure (money is quoted in cents, latency in ms). -#}
{% macro exact_sum(expression, scale=9) -%}
    cast(sum(cast({{ expression }} as numeric(38, {{ scale }}))) as {{ opsmetrics.type_double() }})
{%- endmacro %}

{% macro exact_avg(expression, scale=9) -%}
    {{ return(adapter.dispatch('exact_avg', 'opsmetrics')(expression, scale)) }}
{%- endmacro %}

{% macro default__exact_avg(expression, scale) -%}
    cast(
        sum(cast({{ expression }} as numeric(38, {{ scale }})))
        / nullif(count({{ expression }}), 0)
        as {{ opsmetrics.type_double() }}
    )
{%- endmacro %}

{#- Spark divides decimals at 6 decimals once the precision passes 38: the exact sum is
    divided as a double instead (within one unit in the last place of the others). -#}
{% macro spark__exact_avg(expression, scale) -%}
    cast(sum(cast({{ expression }} as numeric(38, {{ scale }}))) as double)
    / nullif(count({{ expression }}), 0)
{%- endmacro %}
