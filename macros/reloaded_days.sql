{#- The UTC days an incremental aggregate must rebuild for one base model (every raw
    version, typed and ranked once): each day (column `reloaded_date`) holding a version,
    by `time_column`, of a row with a version loaded since `cutoff` (new rows, late rows,
    re-sent rows and the day the earlier copies they replace sat on). `key_column` names
    the row's versions: version_key, or record_key where the raw key is the natural key.
    The calling model declares the dependency on `base` with a depends_on comment. -#}
{% macro reloaded_days(base, time_column, cutoff, key_column='version_key') -%}
    select distinct cast({{ time_column }} as date) as reloaded_date
    from {{ base }}
    where
        {{ time_column }} is not null
        and {{ key_column }} in ({{ opsmetrics.reloaded_keys(base, cutoff, key_column) }})
{%- endmacro %}
