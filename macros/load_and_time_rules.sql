{#- The quarantine rules a one-pass staging model applies right after its required
    fields, as `when` branches of its quarantine_reason, in this order: a row without
    `_loaded_at`, a non-finite value in one of `number_columns` (none: no such rule), a
    `timestamp_column` that did not parse, then one later than the row's load. -#}
{% macro load_and_time_rules(timestamp_column, number_columns=[]) -%}
when _loaded_at is null then 'missing_loaded_at'
            {%- if number_columns | length == 1 %}
            when {{ opsmetrics.is_non_finite(number_columns[0]) }} then 'non_finite_number'
            {%- elif number_columns %}
            when
                {% for column in number_columns -%}
                {{ 'or ' if not loop.first }}{{ opsmetrics.is_non_finite(column) }}
                {% endfor -%}
                then 'non_finite_number'
            {%- endif %}
            when {{ timestamp_column }} is null then 'unparseable_timestamp'
            when {{ opsmetrics.is_after_load(timestamp_column) }} then 'future_timestamp'
{%- endmacro %}
