{#- True when a number is NaN, +Infinity or -Infinity (null stays null). Such values pass
    every `< 0` or `> bound` comparison (DuckDB orders NaN above every number, Postgres
    above Infinity), so staging tests for them first. -#}
{% macro is_non_finite(column) -%}
    {{ return(adapter.dispatch('is_non_finite', 'opsmetrics')(column)) }}
{%- endmacro %}

{% macro default__is_non_finite(column) -%}
    not isfinite(cast({{ column }} as double))
{%- endmacro %}

{% macro postgres__is_non_finite(column) -%}
    cast({{ column }} as double precision) in (
        cast('NaN' as double precision),
        cast('Infinity' as double precision),
        cast('-Infinity' as double precision)
    )
{%- endmacro %}
