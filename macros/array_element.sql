{#- Element `index` (counted from 1) of the array `array`. -#}
{% macro array_element(array, index) -%}
    {{ return(adapter.dispatch('array_element', 'opsmetrics')(array, index)) }}
{%- endmacro %}

{#- Subscripts count from 1 on Postgres and DuckDB. -#}
{% macro default__array_element(array, index) -%}
    ({{ array }})[{{ index }}]
{%- endmacro %}

{#- Spark's subscript counts from 0, element_at from 1. -#}
{% macro spark__array_element(array, index) -%}
    element_at({{ array }}, {{ index }})
{%- endmacro %}
