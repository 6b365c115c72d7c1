{#- 1 for the copy of a natural key that staging keeps (the latest _loaded_at), 2+ for
    the duplicates it removes. Rows with a null key part are never duplicates of each
    other: they rank 1 and are quarantined as null_required_field. A copy without
    _loaded_at ranks after every stamped copy, on both warehouses (Postgres would sort
    nulls first in a descending order). Copies loaded at the same instant are ordered by
    the whole row (tie_break_columns of `raw_table`: every raw column as typed, times
    as their trimmed text), so the copy kept never depends on the order rows are read
    in, and it is the same copy on DuckDB and Postgres; copies tied on every column are
    the same row. -#}
{% macro duplicate_rank(key_columns, raw_table) -%}
    case
        when {{ key_columns | join(' is null or ') }} is null then 1
        else row_number() over (
            partition by {{ key_columns | join(', ') }}
            order by
                _loaded_at desc nulls last,
                {{ opsmetrics.tie_break_columns(raw_table) | join(', ') }}
        )
    end
{%- endmacro %}
