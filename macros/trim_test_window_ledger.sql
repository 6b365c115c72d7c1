{#- on-run-end hook, after record_test_window_passes: deletes the rows of
    test_window_ledger that no window can read again. test_window reads, for each test
    with a `window` (meta), its latest pass and the builds of its `built` model after
    that pass; a pass only moves later. So a build is kept while it is later than the
    latest pass of some test on its model (or one of them has never passed), and a pass
    only while it is its test's latest. Rows of tests and models no window names are
    deleted: a test that gets a window again has no pass, so it starts with the whole
    table. The ledger then holds about one row per windowed test. -#}
{% macro trim_test_window_ledger() -%}
    {%- set ledger = opsmetrics.test_window_ledger() -%}
    {%- if not execute or ledger is none -%}
        {{ return('select 1') }}
    {%- endif -%}
    {%- set tests_by_model = {} -%}
    {%- set latest_pass = {} -%}
    {%- for node in graph.nodes.values()
        if node.resource_type == 'test' and node.config.meta.get('window') is mapping -%}
        {%- set test = node.unique_id -%}
        {%- do tests_by_model.setdefault(node.config.meta.window.built, []).append(test) -%}
        {%- do latest_pass.update({test: "(select max(passes.run_started_at) from "
            ~ ledger ~ " as passes where passes.node_name = '" ~ test
            ~ "' and passes.event = 'test_passed')"}) -%}
    {%- endfor -%}
    {%- if not tests_by_model -%}
        delete from {{ ledger }}
    {%- else -%}
        delete from {{ ledger }}
        where
            event = 'built'
            and (
                node_name not in ('{{ tests_by_model | join("', '") }}')
                {%- for model_name, tests in tests_by_model.items() %}
                or (
                    node_name = '{{ model_name }}'
                    {%- for test in tests %}
                    and run_started_at <= {{ latest_pass[test] }}
                    {%- endfor %}
                )
                {%- endfor %}
            );
        delete from {{ ledger }}
        where
            event = 'test_passed'
            and (
                node_name not in ('{{ latest_pass | join("', '") }}')
                {%- for test, passed_at in latest_pass.items() %}
                or (node_name = '{{ test }}' and run_started_at < {{ passed_at }})
                {%- endfor %}
            )
    {%- endif -%}
{%- endmacro %}
