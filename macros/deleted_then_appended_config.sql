{#- The config of a model whose incremental run deletes the rows a pre-hook selects
    (`pre_hook`: the call of a project macro as a string, or a list of them run in order,
    the delete among them) and appends their new rows.
    Spark's Parquet tables cannot delete: there the model is rebuilt in full on every run
    (docs/warehouses.md, Spark). Pass it to config():
    `config(opsmetrics.deleted_then_appended_config("{{ opsmetrics.delete_x() }}"))`. -#}
{% macro deleted_then_appended_config(pre_hook) -%}
    {{ return({
        'materialized': 'table' if target.type == 'spark' else 'incremental',
        'incremental_strategy': 'append',
        'on_schema_change': 'fail',
        'pre_hook': pre_hook,
    }) }}
{%- endmacro %}
