{#- True when an event time lies later than the row's own _loaded_at allows
    (var future_timestamp_tolerance_hours): a clock or data-entry error. -#}
{% macro is_after_load(column) -%}
    {{ column }} > {{ dbt.dateadd('hour', var('future_timestamp_tolerance_hours'), '_loaded_at') }}
{%- endmacro %}
