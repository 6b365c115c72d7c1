{#- The table in which the daily run records, per invocation, each build of a model whose
    tests may read the new window only (its load cutoff, null on a full build) and each
    pass of such a test (test_window). None where no model is incremental: Spark rebuilds
    them in full on every run, so its tests always read the whole table. -#}
{% macro test_window_ledger() -%}
    {{ return(adapter.dispatch('test_window_ledger', 'opsmetrics')()) }}
{%- endmacro %}

{% macro default__test_window_ledger() -%}
    {{ return(api.Relation.create(
        database=target.database, schema='test_windows', identifier='ledger'
    )) }}
{%- endmacro %}

{% macro spark__test_window_ledger() -%}
    {{ return(none) }}
{%- endmacro %}
