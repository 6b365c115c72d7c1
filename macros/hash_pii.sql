{#- Salted hash of a PII value, normalised (trimmed, lower-case) so that the same
    address always hashes alike. The salt (OPSMETRICS_PII_SALT) is never a literal in
    the SQL: each warehouse reads it from its session at run time (pii_salt_value), so it
    appears in no compiled file, log or artefact. -#}
{% macro hash_pii(column) -%}
    case
        when {{ column }} is not null
            then {{ dbt.hash(dbt.concat(
                [opsmetrics.pii_salt_value(), "lower(trim(" ~ column ~ "))"]
            )) }}
    end
{%- endmacro %}
