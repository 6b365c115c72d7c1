{#- The condition that restricts a data test to the new window, or none for the full
    table. A test opts in with `meta: {window: {built: <model>, keys: <base model>}}`:
    its rows change only when `built` is built, and every row that build writes has its
    key (the test's column) among the `record_key`s of `keys` (a base model, which keeps
    every raw version) loaded since the build's load cutoff, or unstamped. The window is
    every row of those keys, so a `unique` test sees both rows of any duplicate a build
    made. It is used only when this invocation built `built` incrementally, and every
    build of it since this test last passed was incremental: the window starts at the
    earliest of their cutoffs, so rows written by a run whose test failed or did not run
    are checked again. Otherwise (a full refresh, `dbt test` alone, no pass recorded yet,
    Spark) the test reads the whole table. A wrong window is a compiler error on every
    path (check_test_window). Why this is sound: docs/decisions.md, Issue 13 (session 11).
    -#}
{% macro test_window(window, column) -%}
    {%- if window is none or not execute -%}
        {{ return(none) }}
    {%- endif -%}
    {#- On every path (a full refresh, `dbt test` alone, Spark), so a wrong window fails
        at once rather than read the whole table or the wrong keys. -#}
    {%- do opsmetrics.check_test_window(window) -%}
    {%- set ledger = opsmetrics.test_window_ledger() -%}
    {%- if ledger is none or load_relation(ledger) is none -%}
        {{ return(none) }}
    {%- endif -%}
    {#- From the graph, not ref(): `keys` is an upstream of the tested model, and a ref
        here would need a depends_on hint in every test. -#}
    {%- set keys_node = graph.nodes['model.' ~ project_name ~ '.' ~ window['keys']] -%}
    {%- set keys = api.Relation.create(
        database=keys_node.database, schema=keys_node.schema, identifier=keys_node.alias
    ) -%}
    {%- set query -%}
        with last_pass as (
            select max(run_started_at) as passed_at from {{ ledger }}
            where node_name = '{{ model.unique_id }}' and event = 'test_passed'
        )
        select
            count(*) as builds,
            count(ledger.load_cutoff) as incremental_builds,
            count(case when ledger.invocation_id = '{{ invocation_id }}' then 1 end)
                as builds_now,
            cast(min(ledger.load_cutoff) as {{ dbt.type_string() }}) as window_start
        from {{ ledger }} as ledger
        cross join last_pass
        where
            ledger.node_name = '{{ window["built"] }}'
            and ledger.event = 'built'
            and ledger.run_started_at > last_pass.passed_at
    {%- endset -%}
    {%- set builds = run_query(query).rows[0] -%}
    {%- if builds['builds_now'] == 0 or builds['incremental_builds'] < builds['builds'] -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set cutoff = "cast('" ~ builds['window_start'] ~ "' as " ~ dbt.type_timestamp() ~ ")" -%}
    {{ return(
        column ~ " in (select record_key from " ~ keys ~ " where _loaded_at >= " ~ cutoff
        ~ " or _loaded_at is null)"
    ) }}
{%- endmacro %}
