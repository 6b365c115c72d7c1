{#- on-run-start hook: creates test_window_ledger when missing (here, before any thread
    writes to it). -#}
{% macro create_test_window_ledger() -%}
    {%- set ledger = opsmetrics.test_window_ledger() -%}
    {%- if ledger is none -%}
        select 1
    {%- else -%}
        create schema if not exists {{ ledger.schema }};
        create table if not exists {{ ledger }} (
            invocation_id {{ dbt.type_string() }},
            run_started_at {{ dbt.type_timestamp() }},
            node_name {{ dbt.type_string() }},
            event {{ dbt.type_string() }},
            load_cutoff {{ dbt.type_timestamp() }}
        )
    {%- endif -%}
{%- endmacro %}
