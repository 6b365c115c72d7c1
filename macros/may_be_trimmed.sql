{#- True for every text that trim() would shorten (a superset: a caller that needs the
    exact set also compares with trim()), and cheap to test on every raw row, unlike
    trim(), which builds a new string for each. Null stays null. -#}
{% macro may_be_trimmed(column) -%}
    {{ return(adapter.dispatch('may_be_trimmed', 'opsmetrics')(column)) }}
{%- endmacro %}

{#- Postgres and Spark trim the space character (U+0020) only. -#}
{% macro default__may_be_trimmed(column) -%}
    ({{ column }} like ' %' or {{ column }} like '% ')
{%- endmacro %}

{#- DuckDB also trims the other Unicode space separators (category Zs: U+00A0, U+3000,
    …), all outside ASCII: a text holding any non-ASCII character has more bytes than
    characters. -#}
{% macro duckdb__may_be_trimmed(column) -%}
    (
        {{ column }} like ' %'
        or {{ column }} like '% '
        or strlen({{ column }}) <> length({{ column }})
    )
{%- endmacro %}
