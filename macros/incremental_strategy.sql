{#- The incremental strategy of every model that replaces rows by key (staging's judged
    versions, the operations marts rebuilding whole days): the one place an adapter picks
    its own. delete+insert runs on DuckDB and Postgres. -#}
{% macro incremental_strategy() -%}
    {{ return(adapter.dispatch('incremental_strategy', 'opsmetrics')()) }}
{%- endmacro %}

{% macro default__incremental_strategy() -%}
    {{ return('delete+insert') }}
{%- endmacro %}

{#- Spark's Parquet tables cannot delete rows (no Delta here): `insert_overwrite` of the
    model's day partitions (incremental_partition_by). Models replacing rows by a key
    that is not a day are tables on Spark instead (docs/warehouses.md, Spark). -#}
{% macro spark__incremental_strategy() -%}
    {{ return('insert_overwrite') }}
{%- endmacro %}

{#- The partitioning of a model rebuilding whole days: by its day column on Spark, so
    insert_overwrite replaces the days a run rebuilds and keeps the others; none
    elsewhere. -#}
{% macro incremental_partition_by(day_column) -%}
    {{ return([day_column] if target.type == 'spark' else none) }}
{%- endmacro %}
