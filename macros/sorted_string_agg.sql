{#- The group's values of `expression` (text) joined by `delimiter` (a quoted literal) in
    byte order of the values themselves: the same text on every engine whatever order the
    rows arrive in (dispatched). -#}
{% macro sorted_string_agg(expression, delimiter) -%}
    {{ return(adapter.dispatch('sorted_string_agg', 'opsmetrics')(expression, delimiter)) }}
{%- endmacro %}

{#- Postgres: string_agg ordered in the C collation (the database's own may not be
    byte order). -#}
{% macro default__sorted_string_agg(expression, delimiter) -%}
    string_agg({{ expression }}, {{ delimiter }} order by {{ expression }} collate "C")
{%- endmacro %}

{% macro duckdb__sorted_string_agg(expression, delimiter) -%}
    string_agg({{ expression }}, {{ delimiter }} order by {{ expression }})
{%- endmacro %}

{#- Spark: collect_list keeps no order; array_sort orders the values byte-wise. -#}
{% macro spark__sorted_string_agg(expression, delimiter) -%}
    array_join(array_sort(collect_list({{ expression }})), {{ delimiter }})
{%- endmacro %}
