{#- Text (ISO-8601, with or without an offset) to a UTC timestamp without time zone.
    Unparseable text gives null, never an error: staging quarantines it.
    Both warehouses first check the text against one grammar (iso_8601_pattern), because
    their casts accept different extras (Postgres: 'now', '05/01/2025', 'Jan 5 2025';
    DuckDB: single-digit fields, zone names): what parses must not depend on the warehouse.
    Text without an offset is UTC. -#}
{% macro parse_timestamp_utc(column) -%}
    {{ return(adapter.dispatch('parse_timestamp_utc', 'opsmetrics')(column)) }}
{%- endmacro %}

{% macro default__parse_timestamp_utc(column) -%}
    {{ opsmetrics.no_adapter_implementation('parse_timestamp_utc') }}
{%- endmacro %}

{% macro duckdb__parse_timestamp_utc(column) -%}
    case
        when regexp_matches(
            trim(cast({{ column }} as varchar)), '{{ opsmetrics.iso_8601_pattern() }}'
        )
            then cast(
                try_cast(trim(cast({{ column }} as varchar)) as timestamptz) at time zone 'UTC'
                as timestamp
            )
    end
{%- endmacro %}

{% macro postgres__parse_timestamp_utc(column) -%}
    ({{ target.schema }}.opsmetrics_try_timestamptz(cast({{ column }} as text)) at time zone 'UTC')
{%- endmacro %}

{#- Spark's session time zone is UTC (profiles.yml), so its timestamps are UTC instants.
    Backslashes doubled: a Spark string literal reads a backslash as an escape. -#}
{% macro spark__parse_timestamp_utc(column) -%}
    case
        when trim(cast({{ column }} as string))
            rlike '{{ opsmetrics.iso_8601_pattern() | replace("\\", "\\\\") }}'
            then try_cast(trim(cast({{ column }} as string)) as timestamp)
    end
{%- endmacro %}
