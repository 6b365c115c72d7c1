{#- The PII salt as the session holds it (see scripts/opsmetrics/pii_salt.py), failing
    the query when it is missing rather than hashing with an empty salt. DuckDB: the
    variable the opsmetrics.pii_salt dbt-duckdb plugin binds on every connection;
    Postgres: the custom setting opsmetrics.pii_salt, read by a helper function
    (create_udfs) that raises a clear error when it is not set. -#}
{% macro pii_salt_value() -%}
    {{ return(adapter.dispatch('pii_salt_value', 'opsmetrics')()) }}
{%- endmacro %}

{% macro default__pii_salt_value() -%}
    coalesce(
        getvariable('pii_salt'),
        error('PII salt missing: the opsmetrics.pii_salt plugin is not in profiles.yml')
    )
{%- endmacro %}

{% macro postgres__pii_salt_value() -%}
    {{ target.schema }}.opsmetrics_pii_salt()
{%- endmacro %}
