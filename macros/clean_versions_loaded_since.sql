{#- The earliest `_loaded_at` a version of a row timed on or after `day` (a date
    expression) can have and still pass staging: a version loaded more than var
    future_timestamp_tolerance_hours before its event time is quarantined as
    future_timestamp. So when rebuilding the days from `day`, versions loaded before this
    bound are never the latest clean copy of a row of those days, and the raw scan can
    skip them (a filter on `_loaded_at`, which the validated views pass to the raw
    table) instead of parsing the event time of every row. -#}
{% macro clean_versions_loaded_since(day) -%}
    {{ dbt.dateadd(
        'hour', -1 * var('future_timestamp_tolerance_hours'), 'cast(' ~ day ~ ' as timestamp)'
    ) }}
{%- endmacro %}
