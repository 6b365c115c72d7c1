{#- True when the text parses as JSON (null stays null). -#}
{% macro is_valid_json(column) -%}
    {{ return(adapter.dispatch('is_valid_json', 'opsmetrics')(column)) }}
{%- endmacro %}

{% macro default__is_valid_json(column) -%}
    {{ opsmetrics.no_adapter_implementation('is_valid_json') }}
{%- endmacro %}

{% macro duckdb__is_valid_json(column) -%}
    json_valid({{ column }})
{%- endmacro %}

{% macro postgres__is_valid_json(column) -%}
    {{ target.schema }}.opsmetrics_is_json(cast({{ column }} as text))
{%- endmacro %}

{#- try_parse_json (Spark 4) gives null for text that is not JSON. -#}
{% macro spark__is_valid_json(column) -%}
    case when {{ column }} is not null then try_parse_json({{ column }}) is not null end
{%- endmacro %}
