{#- Postgres version of dbt's check behind on_schema_change: `text` and unbounded
    `character varying` are the same type there (a contract's varchar column is created as
    the one, string expressions yield the other), so they are not a schema change.
    Otherwise as dbt's default. -#}
{% macro postgres__diff_column_data_types(source_columns, target_columns) %}
    {%- set unbounded_strings = ['text', 'character varying'] -%}
    {%- set result = [] -%}
    {%- for sc in source_columns -%}
        {%- set tc = target_columns | selectattr('name', 'equalto', sc.name) | list | first -%}
        {%- if tc -%}
            {%- set both_unbounded_strings = sc.dtype | lower in unbounded_strings
                and tc.dtype | lower in unbounded_strings
                and sc.char_size is none and tc.char_size is none -%}
            {%- if not both_unbounded_strings
                and sc.expanded_data_type != tc.expanded_data_type
                and not sc.can_expand_to(other_column=tc) -%}
                {%- do result.append({'column_name': tc.name, 'new_type': sc.expanded_data_type}) -%}
            {%- endif -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(result) }}
{% endmacro %}
