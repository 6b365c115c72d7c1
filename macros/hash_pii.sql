{#- Salted hash of a PII value, normalised (trimmed, lower-case) so that the same
    address always hashes alike. The salt comes from OPSMETRICS_PII_SALT. -#}
{% macro hash_pii(column) -%}
    case
        when {{ column }} is not null
            then {{ dbt.hash(dbt.concat(["'" ~ var('pii_salt') ~ "'", "lower(trim(" ~ column ~ "))"])) }}
    end
{%- endmacro %}
