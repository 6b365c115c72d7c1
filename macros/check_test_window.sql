{#- Raises a compiler error, naming the test, the bad value and what is expected, unless
    a test's `meta.window` (test_window) is `{built: <model>, keys: <model>}` where the
    test is on one column of `built` or of a view reading it, `built` records its builds
    (pre-hook record_test_window_build) and is incremental where the adapter keeps
    windows (not Spark, which builds these models as tables and always tests the whole
    table: test_window_ledger), and `keys` is `built` or a
    model upstream of it. A wrong window would otherwise read the whole table forever
    (a misspelt `built`) or the wrong keys. -#}
{% macro check_test_window(window) -%}
    {%- set test = model.unique_id -%}
    {%- set expected = "{built: <incremental model>, keys: <base model it reads>}" -%}
    {%- if window is not mapping -%}
        {{ exceptions.raise_compiler_error(
            test ~ ": meta.window is " ~ window ~ ", expected " ~ expected
        ) }}
    {%- endif -%}
    {%- if window | list | sort != ['built', 'keys'] -%}
        {{ exceptions.raise_compiler_error(
            test ~ ": meta.window has the keys " ~ (window | list | sort | list)
            ~ ", expected exactly ['built', 'keys']: " ~ expected
        ) }}
    {%- endif -%}
    {%- set nodes = {} -%}
    {%- for name in ['built', 'keys'] -%}
        {%- set node_id = 'model.' ~ project_name ~ '.' ~ window[name] -%}
        {%- if window[name] is not string or node_id not in graph.nodes -%}
            {{ exceptions.raise_compiler_error(
                test ~ ": meta.window." ~ name ~ " is " ~ window[name]
                ~ ", which is not a model of this project; expected " ~ expected
            ) }}
        {%- endif -%}
        {%- do nodes.update({name: graph.nodes[node_id]}) -%}
    {%- endfor -%}
    {%- set built = nodes['built'] -%}
    {%- set hooks = built.config['pre-hook'] | map(attribute='sql') | join(' ') -%}
    {%- set windows_kept = opsmetrics.test_window_ledger() is not none -%}
    {%- if 'record_test_window_build' not in hooks
        or (windows_kept and built.config.materialized != 'incremental') -%}
        {{ exceptions.raise_compiler_error(
            test ~ ": meta.window.built is " ~ window['built'] ~ " (materialized "
            ~ built.config.materialized ~ ", pre-hook record_test_window_build: "
            ~ ('record_test_window_build' in hooks) ~ "); expected an incremental model"
            ~ " with that pre-hook, which records its builds"
        ) }}
    {%- endif -%}
    {%- set tested = graph.nodes[model.attached_node] -%}
    {%- if tested.unique_id != built.unique_id and not (
        tested.config.materialized == 'view'
        and built.unique_id in opsmetrics.upstream_models(tested.unique_id)
    ) -%}
        {{ exceptions.raise_compiler_error(
            test ~ ": meta.window.built is " ~ window['built'] ~ ", but the test is on "
            ~ tested.name ~ " (" ~ tested.config.materialized ~ "); expected the tested"
            ~ " model itself, or a model upstream of it when it is a view"
        ) }}
    {%- endif -%}
    {%- if nodes['keys'].unique_id != built.unique_id
        and nodes['keys'].unique_id not in opsmetrics.upstream_models(built.unique_id) -%}
        {{ exceptions.raise_compiler_error(
            test ~ ": meta.window.keys is " ~ window['keys'] ~ ", which is not "
            ~ window['built'] ~ " nor upstream of it; expected the base model whose"
            ~ " record_key and _loaded_at the build re-read"
        ) }}
    {%- endif -%}
    {%- if not model.test_metadata.kwargs.column_name -%}
        {{ exceptions.raise_compiler_error(
            test ~ ": meta.window is set on a test without a column; expected a test on"
            ~ " the column whose values are the keys of " ~ window['keys']
        ) }}
    {%- endif -%}
{%- endmacro %}
