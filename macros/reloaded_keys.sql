{#- On an incremental run: the keys (`key_column`) of the rows of `base` (a base model,
    every raw version) with a version loaded since `cutoff`, as a query. Rows without
    `_loaded_at` are not counted: a base model always quarantines them
    (`missing_loaded_at`, or `null_required_field` before it) and ranks them after every
    stamped copy (`nulls last`, in the fallback rank of customers and users too), so they
    never change what is staged. -#}
{% macro reloaded_keys(base, cutoff, key_column='record_key') -%}
    select reloaded.{{ key_column }} from {{ base }} as reloaded
    where reloaded._loaded_at >= {{ cutoff }}
{%- endmacro %}
