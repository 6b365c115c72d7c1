{#- The config of an operations mart that rebuilds whole days on an incremental run:
    its rows are replaced by `day_column` (delete+insert; insert_overwrite of the day
    partitions on Spark). Pass it to config(): `config(opsmetrics.days_rebuilt_config('d'))`. -#}
{% macro days_rebuilt_config(day_column) -%}
    {{ return({
        'materialized': 'incremental',
        'incremental_strategy': opsmetrics.incremental_strategy(),
        'unique_key': day_column,
        'partition_by': opsmetrics.incremental_partition_by(day_column),
        'on_schema_change': 'fail',
    }) }}
{%- endmacro %}
