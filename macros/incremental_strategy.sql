{#- The incremental strategy of every model that replaces rows by key (staging's judged
    versions, the operations marts): the one place an adapter picks its own. delete+insert
    runs on DuckDB and Postgres; an adapter without it adds `<adapter>__incremental_strategy`. -#}
{% macro incremental_strategy() -%}
    {{ return(adapter.dispatch('incremental_strategy', 'opsmetrics')()) }}
{%- endmacro %}

{% macro default__incremental_strategy() -%}
    {{ return('delete+insert') }}
{%- endmacro %}
