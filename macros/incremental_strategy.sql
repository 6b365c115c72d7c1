{#- The incremental strategy of a model whose runs rebuild whole days (`unique_key` the
    day column): `strategy` (delete+insert) where the warehouse can delete; on Spark,
    whose Parquet tables cannot delete rows (no Delta here), `insert_overwrite` of the
    model's day partitions (incremental_partition_by). The one place that decides it:
    every incremental model takes its strategy from here. -#}
{% macro incremental_strategy(strategy='delete+insert') -%}
    {{ return('insert_overwrite' if target.type == 'spark' else strategy) }}
{%- endmacro %}

{#- The partitioning of such a model: by its day column on Spark, so insert_overwrite
    replaces the days a run rebuilds and keeps the others; none elsewhere. -#}
{% macro incremental_partition_by(day_column) -%}
    {{ return([day_column] if target.type == 'spark' else none) }}
{%- endmacro %}
