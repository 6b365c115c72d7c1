{#- The PII salt as the session holds it (see scripts/opsmetrics/pii_salt.py), failing
    the query when it is missing rather than hashing with an empty salt. DuckDB: the
    variable the opsmetrics.pii_salt dbt-duckdb plugin binds on every connection;
    Postgres: the custom setting opsmetrics.pii_salt, read by a helper function
    (create_udfs) that raises a clear error when it is not set; Spark: the session
    setting opsmetrics.pii_salt (profiles.yml), substituted by Spark into the statement
    after dbt has written and logged it. -#}
{% macro pii_salt_value() -%}
    {{ return(adapter.dispatch('pii_salt_value', 'opsmetrics')()) }}
{%- endmacro %}

{% macro default__pii_salt_value() -%}
    {{ opsmetrics.no_adapter_implementation('pii_salt_value') }}
{%- endmacro %}

{% macro duckdb__pii_salt_value() -%}
    coalesce(
        getvariable('pii_salt'),
        error('PII salt missing: the opsmetrics.pii_salt plugin is not in profiles.yml')
    )
{%- endmacro %}

{% macro postgres__pii_salt_value() -%}
    {{ target.schema }}.opsmetrics_pii_salt()
{%- endmacro %}

{#- Spark leaves ${...} as written when the setting is missing: that fails the query. -#}
{% macro spark__pii_salt_value() -%}
    case
        when '${spark.opsmetrics.pii_salt}' not in (concat('$', '{spark.opsmetrics.pii_salt}'), '')
            then '${spark.opsmetrics.pii_salt}'
        else raise_error('PII salt missing: set spark.opsmetrics.pii_salt (OPSMETRICS_PII_SALT)')
    end
{%- endmacro %}
