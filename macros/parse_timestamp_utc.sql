{#- Text (ISO-8601, with or without an offset) to a UTC timestamp without time zone.
    Unparseable text gives null, never an error: staging quarantines it. -#}
{% macro parse_timestamp_utc(column) -%}
    {{ return(adapter.dispatch('parse_timestamp_utc', 'opsmetrics')(column)) }}
{%- endmacro %}

{% macro default__parse_timestamp_utc(column) -%}
    cast(try_cast(cast({{ column }} as varchar) as timestamptz) at time zone 'UTC' as timestamp)
{%- endmacro %}

{% macro postgres__parse_timestamp_utc(column) -%}
    ({{ target.schema }}.opsmetrics_try_timestamptz(cast({{ column }} as text)) at time zone 'UTC')
{%- endmacro %}
