{#- The rows of `relation` once per slice, as a union: `dimensions` is a list of
    (dimension_name, dimension_value expression) pairs, e.g. ('overall', "'all'") and
    ('segment', 'segment'); every copy carries `columns` unchanged. A KPI grouped by
    dimension_name and dimension_value then has one row per slice. -#}
{% macro dimension_slices(relation, dimensions, columns) -%}
{%- for dimension_name, dimension_value in dimensions %}
    select
        '{{ dimension_name }}' as dimension_name,
        {{ dimension_value }} as dimension_value,
        {{ columns | join(',\n        ') }}
    from {{ relation }}
    {%- if not loop.last %}
    union all
    {%- endif %}
{%- endfor %}
{%- endmacro %}
