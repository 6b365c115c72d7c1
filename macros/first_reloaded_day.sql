{#- On an incremental run over a validated platform view: the first UTC day holding a
    version loaded since `cutoff`, as a date literal (one query at compile time, so the
    warehouse can prune on it), or a null date when nothing was loaded since. -#}
{% macro first_reloaded_day(validated, time_column, cutoff) -%}
    {%- set query -%}
        select cast(min(cast({{ time_column }} as date)) as {{ dbt.type_string() }})
        from {{ validated }}
        where {{ time_column }} is not null and _loaded_at >= {{ cutoff }}
    {%- endset -%}
    {%- set first_day = run_query(query).columns[0].values()[0] -%}
    {{ return("cast(null as date)" if first_day is none else "cast('" ~ first_day ~ "' as date)") }}
{%- endmacro %}
