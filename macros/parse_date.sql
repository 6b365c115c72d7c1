{#- Text (YYYY-MM-DD, surrounding blanks ignored) to a date; anything else gives null.
    The pattern is checked first because DuckDB's cast alone also accepts '2025-1-5' and
    '2025-01-05T10:00:00Z' (dropping the time), which Postgres rejects. -#}
{% macro parse_date(column) -%}
    {{ return(adapter.dispatch('parse_date', 'opsmetrics')(column)) }}
{%- endmacro %}

{% macro default__parse_date(column) -%}
    {{ opsmetrics.no_adapter_implementation('parse_date') }}
{%- endmacro %}

{% macro duckdb__parse_date(column) -%}
    case
        when regexp_full_match(cast({{ column }} as varchar), '\s*\d{4}-\d{2}-\d{2}\s*')
            then try_cast(trim(cast({{ column }} as varchar)) as date)
    end
{%- endmacro %}

{% macro postgres__parse_date(column) -%}
    {{ target.schema }}.opsmetrics_try_date(cast({{ column }} as text))
{%- endmacro %}

{#- A backslash in a Spark string literal escapes the next character: doubled. -#}
{% macro spark__parse_date(column) -%}
    case
        when cast({{ column }} as string) rlike '^\\s*\\d{4}-\\d{2}-\\d{2}\\s*$'
            then try_cast(trim(cast({{ column }} as string)) as date)
    end
{%- endmacro %}
