{#- True when a number is NaN, +Infinity or -Infinity (null stays null). Such values pass
    every `< 0` or `> bound` comparison (DuckDB orders NaN above every number, Postgres
    and Spark above Infinity), so staging tests for them first. -#}
{% macro is_non_finite(column) -%}
    {{ return(adapter.dispatch('is_non_finite', 'opsmetrics')(column)) }}
{%- endmacro %}

{#- NaN equals NaN on Postgres and Spark (unlike IEEE), so `in` finds it. -#}
{% macro default__is_non_finite(column) -%}
    cast({{ column }} as {{ opsmetrics.type_double() }}) in (
        cast('NaN' as {{ opsmetrics.type_double() }}),
        cast('Infinity' as {{ opsmetrics.type_double() }}),
        cast('-Infinity' as {{ opsmetrics.type_double() }})
    )
{%- endmacro %}

{% macro duckdb__is_non_finite(column) -%}
    not isfinite(cast({{ column }} as double))
{%- endmacro %}
