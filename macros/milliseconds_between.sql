{#- Whole milliseconds from timestamp `start` to timestamp `end` (millisecond boundaries
    crossed, as dbt.datediff(..., 'millisecond') counts them on DuckDB and Postgres). -#}
{% macro milliseconds_between(start, end) -%}
    {{ return(adapter.dispatch('milliseconds_between', 'opsmetrics')(start, end)) }}
{%- endmacro %}

{% macro default__milliseconds_between(start, end) -%}
    {{ dbt.datediff(start, end, 'millisecond') }}
{%- endmacro %}

{#- dbt-spark's datediff goes through to_unix_timestamp, whole seconds: the fractions the
    check and scaling times carry would be lost. unix_micros keeps them. -#}
{% macro spark__milliseconds_between(start, end) -%}
    (unix_micros({{ end }}) div 1000 - unix_micros({{ start }}) div 1000)
{%- endmacro %}
