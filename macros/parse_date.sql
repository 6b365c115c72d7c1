{#- Text (YYYY-MM-DD) to a date; unparseable text gives null. -#}
{% macro parse_date(column) -%}
    {{ return(adapter.dispatch('parse_date', 'opsmetrics')(column)) }}
{%- endmacro %}

{% macro default__parse_date(column) -%}
    try_cast(cast({{ column }} as varchar) as date)
{%- endmacro %}

{% macro postgres__parse_date(column) -%}
    {{ target.schema }}.opsmetrics_try_date(cast({{ column }} as text))
{%- endmacro %}
