{#- Pre-hook of a model whose tests may read the new window only: records this build in
    test_window_ledger with its load cutoff, computed as the model's SQL computed it
    (before any other pre-hook changes the table), or null on a full build. -#}
{% macro record_test_window_build() -%}
    {%- set ledger = opsmetrics.test_window_ledger() -%}
    {%- if execute and ledger is not none -%}
        insert into {{ ledger }} values ({{ opsmetrics.test_window_ledger_values(
            this.identifier, 'built', opsmetrics.incremental_load_cutoff('_loaded_at') or 'null'
        ) }})
    {%- endif -%}
{%- endmacro %}
