{#- On an incremental run: the `_loaded_at` from which rows are re-read, as a timestamp
    literal (the newest `high_water_column` already in {{ this }} minus var
    ops_lookback_days). None on a full build or an empty table. A literal rather than a
    subquery so the warehouse can prune the raw scan on it. -#}
{% macro incremental_load_cutoff(high_water_column) -%}
    {%- if not (execute and is_incremental()) -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set query -%}
        select cast(
            {{ dbt.dateadd(
                'day', -1 * var('ops_lookback_days'), 'max(' ~ high_water_column ~ ')'
            ) }}
            as {{ dbt.type_string() }}
        ) from {{ this }}
    {%- endset -%}
    {%- set cutoff = run_query(query).columns[0].values()[0] -%}
    {%- if cutoff is none -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return("cast('" ~ cutoff ~ "' as timestamp)") }}
{%- endmacro %}
