{#- The values of one row of test_window_ledger, for a `values (…)` list: this
    invocation, `node_name`, `event` ('built' or 'test_passed') and `load_cutoff` (SQL: a
    timestamp or null). -#}
{% macro test_window_ledger_values(node_name, event, load_cutoff) -%}
    {%- set started_at = run_started_at.strftime('%Y-%m-%d %H:%M:%S.%f') -%}
    '{{ invocation_id }}',
    cast('{{ started_at }}' as {{ dbt.type_timestamp() }}),
    '{{ node_name }}',
    '{{ event }}',
    {{ load_cutoff }}
{%- endmacro %}
