{#- True when the text parses as JSON (null stays null). -#}
{% macro is_valid_json(column) -%}
    {{ return(adapter.dispatch('is_valid_json', 'opsmetrics')(column)) }}
{%- endmacro %}

{% macro default__is_valid_json(column) -%}
    json_valid({{ column }})
{%- endmacro %}

{% macro postgres__is_valid_json(column) -%}
    {{ target.schema }}.opsmetrics_is_json(cast({{ column }} as text))
{%- endmacro %}
