{#- dbt's hook for a data test's `where` config (the documented way to customise it):
    the test reads its model through this subquery. Adds the new window of a test that
    asks for one (test_window) to the `where` config, if any. -#}
{% macro get_where_subquery(relation) -%}
    {%- set conditions = [] -%}
    {%- if config.get('where') -%}
        {%- do conditions.append('(' ~ config.get('where') ~ ')') -%}
    {%- endif -%}
    {%- set window = opsmetrics.test_window(
        (config.get('meta') or {}).get('window'), model.test_metadata.kwargs.column_name
    ) -%}
    {%- if window -%}
        {%- do conditions.append(window) -%}
    {%- endif -%}
    {%- if conditions -%}
        {{ return('(select * from ' ~ relation ~ ' where ' ~ conditions | join(' and ') ~ ') dbt_subquery') }}
    {%- endif -%}
    {{ return(relation) }}
{%- endmacro %}
