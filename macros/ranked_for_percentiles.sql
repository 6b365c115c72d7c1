{#- `select` every column of `relation` (a CTE's name), plus, on DuckDB, the two window
    columns duckdb__percentiles_cont reads for `column` within each group of
    `partition_by` (a list of columns): `percentile_rank`, the rank of the row's value
    (nulls last), and `percentile_count`, the group's count of non-null values.
    DuckDB's quantile_cont keeps each group's values as aggregate state; when a hash
    aggregate of millions of groups goes external under memory pressure, those states
    spill past max_temp_directory_size (docs/decisions.md, Lead session 13). Ranks come
    from a sort, which spills as a sort does. Elsewhere the relation as it is. -#}
{% macro ranked_for_percentiles(relation, column, partition_by) -%}
    {{ return(adapter.dispatch('ranked_for_percentiles', 'opsmetrics')(
        relation, column, partition_by
    )) }}
{%- endmacro %}

{% macro default__ranked_for_percentiles(relation, column, partition_by) -%}
    select * from {{ relation }}
{%- endmacro %}

{% macro duckdb__ranked_for_percentiles(relation, column, partition_by) -%}
    select
        *,
        row_number() over (
            partition by {{ partition_by | join(', ') }}
            order by {{ column }} asc nulls last
        ) as percentile_rank,
        count({{ column }}) over (
            partition by {{ partition_by | join(', ') }}
        ) as percentile_count
    from {{ relation }}
{%- endmacro %}
