{#- On an incremental run over a one-pass platform base model (every raw version, typed
    and ranked once): the first UTC day holding a version of a row with a version loaded
    since `cutoff` (so the day an earlier copy of a re-sent row sat on counts too), as a
    date literal (one query at compile time, so the warehouse can prune on it), or a null
    date when nothing was loaded since. -#}
{% macro first_reloaded_day(base, time_column, cutoff) -%}
    {%- set query -%}
        select cast(min(reloaded_days.reloaded_date) as {{ dbt.type_string() }})
        from ({{ opsmetrics.reloaded_days(base, time_column, cutoff) }}) as reloaded_days
    {%- endset -%}
    {%- set first_day = run_query(query).columns[0].values()[0] -%}
    {{ return("cast(null as date)" if first_day is none else "cast('" ~ first_day ~ "' as date)") }}
{%- endmacro %}
