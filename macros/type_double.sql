{#- The 8-byte floating-point type. dbt.type_float() is no substitute: it renders `float`,
    which is 4 bytes on DuckDB and Spark. -#}
{% macro type_double() -%}
    {{ return(adapter.dispatch('type_double', 'opsmetrics')()) }}
{%- endmacro %}

{#- ANSI SQL's name (Postgres). -#}
{% macro default__type_double() -%}
    double precision
{%- endmacro %}

{% macro duckdb__type_double() -%}
    double
{%- endmacro %}

{% macro spark__type_double() -%}
    double
{%- endmacro %}
