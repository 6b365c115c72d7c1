{#- A join that adds one row per `datepart` ('day' or 'month') from `start_date` to
    `end_date` (both inclusive, date expressions of the rows joined to) to every row of
    the preceding FROM item, as column `column` (a timestamp) of alias `alias`. -#}
{% macro date_series(start_date, end_date, datepart, alias, column) -%}
    {%- if datepart not in ('day', 'month') -%}
        {{ exceptions.raise_compiler_error(
            "date_series: datepart must be 'day' or 'month', not '" ~ datepart ~ "'") }}
    {%- endif -%}
    {{ return(adapter.dispatch('date_series', 'opsmetrics')(
        start_date, end_date, datepart, alias, column)) }}
{%- endmacro %}

{% macro default__date_series(start_date, end_date, datepart, alias, column) -%}
    {{ opsmetrics.no_adapter_implementation('date_series') }}
{%- endmacro %}

{% macro duckdb__date_series(start_date, end_date, datepart, alias, column) -%}
    cross join generate_series(
        cast({{ start_date }} as timestamp),
        cast({{ end_date }} as timestamp),
        interval '1 {{ datepart }}'
    ) as {{ alias }} ({{ column }})
{%- endmacro %}

{% macro postgres__date_series(start_date, end_date, datepart, alias, column) -%}
    {{ opsmetrics.duckdb__date_series(start_date, end_date, datepart, alias, column) }}
{%- endmacro %}

{#- Spark has no set-returning generate_series: a lateral view over sequence(). -#}
{% macro spark__date_series(start_date, end_date, datepart, alias, column) -%}
    lateral view explode(sequence(
        cast({{ start_date }} as timestamp),
        cast({{ end_date }} as timestamp),
        interval 1 {{ datepart }}
    )) {{ alias }} as {{ column }}
{%- endmacro %}
