{#- on-run-end hook: records in test_window_ledger each test with a `window` (meta) that
    passed in this invocation, windowed or not. -#}
{% macro record_test_window_passes(results) -%}
    {%- set ledger = opsmetrics.test_window_ledger() -%}
    {%- set passed = [] -%}
    {%- for result in results
        if result.node.resource_type == 'test'
        and result.status == 'pass'
        and result.node.config.meta.get('window') -%}
        {%- do passed.append(
            opsmetrics.test_window_ledger_values(result.node.unique_id, 'test_passed', 'null')
        ) -%}
    {%- endfor -%}
    {%- if execute and ledger is not none and passed -%}
        insert into {{ ledger }} values ({{ passed | join('), (') }})
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}
