{#- The whole row of a relation alias (a CTE or table) as JSON text. -#}
{% macro row_to_json(relation_alias) -%}
    {{ return(adapter.dispatch('row_to_json', 'opsmetrics')(relation_alias)) }}
{%- endmacro %}

{% macro default__row_to_json(relation_alias) -%}
    cast(to_json({{ relation_alias }}) as varchar)
{%- endmacro %}

{% macro postgres__row_to_json(relation_alias) -%}
    cast(row_to_json({{ relation_alias }}) as text)
{%- endmacro %}
