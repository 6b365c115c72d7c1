{#- The whole row of a relation alias (a CTE or table) as JSON text. -#}
{% macro row_to_json(relation_alias) -%}
    {{ return(adapter.dispatch('row_to_json', 'opsmetrics')(relation_alias)) }}
{%- endmacro %}

{% macro default__row_to_json(relation_alias) -%}
    {{ opsmetrics.no_adapter_implementation('row_to_json') }}
{%- endmacro %}

{% macro duckdb__row_to_json(relation_alias) -%}
    cast(to_json({{ relation_alias }}) as varchar)
{%- endmacro %}

{% macro postgres__row_to_json(relation_alias) -%}
    cast(row_to_json({{ relation_alias }}) as text)
{%- endmacro %}

{#- Null fields kept (Spark drops them by default), times as 'YYYY-MM-DD HH:MM:SS.ffffff'. -#}
{% macro spark__row_to_json(relation_alias) -%}
    to_json(
        struct({{ relation_alias }}.*),
        map('ignoreNullFields', 'false', 'timestampFormat', 'yyyy-MM-dd HH:mm:ss[.SSSSSS]')
    )
{%- endmacro %}

{#- The whole row of a relation alias as one value (a struct or row), carried through
    CTEs so that row_to_json builds the JSON text only where it is needed. -#}
{% macro row_as_value(relation_alias) -%}
    {{ return(adapter.dispatch('row_as_value', 'opsmetrics')(relation_alias)) }}
{%- endmacro %}

{#- DuckDB (a struct) and Postgres (a row value) take the alias itself. -#}
{% macro default__row_as_value(relation_alias) -%}
    {{ relation_alias }}
{%- endmacro %}

{% macro spark__row_as_value(relation_alias) -%}
    struct({{ relation_alias }}.*)
{%- endmacro %}
