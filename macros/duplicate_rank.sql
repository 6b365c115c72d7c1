{#- 1 for the copy of a natural key that staging keeps (the latest _loaded_at), 2+ for
    the duplicates it removes. Rows with a null key part are never duplicates of each
    other: they rank 1 and are quarantined as null_required_field. -#}
{% macro duplicate_rank(key_columns) -%}
    case
        when {{ key_columns | join(' is null or ') }} is null then 1
        else row_number() over (
            partition by {{ key_columns | join(', ') }}
            order by _loaded_at desc
        )
    end
{%- endmacro %}
