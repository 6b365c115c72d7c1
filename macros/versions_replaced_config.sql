{#- The config of a one-pass staging model that replaces a key's versions by
    `version_key` on an incremental run. Spark's Parquet tables cannot delete a key's
    earlier versions: there the model is rebuilt in full on every run
    (docs/warehouses.md, Spark). Pass it to config(). -#}
{% macro versions_replaced_config() -%}
    {{ return({
        'materialized': 'table' if target.type == 'spark' else 'incremental',
        'incremental_strategy': opsmetrics.incremental_strategy(),
        'unique_key': 'version_key',
        'on_schema_change': 'fail',
    }) }}
{%- endmacro %}
