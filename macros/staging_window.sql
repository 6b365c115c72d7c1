{#- On an incremental run of a one-pass staging model: the condition on a raw table's rows
    (no typing, so the warehouse applies it to the raw scan) that re-reads every raw
    version of every natural key with a version loaded since `cutoff` (its `key`, the
    typed key expression over raw columns, is in `reloaded_keys`), and every row without
    a key or without `_loaded_at` that a cutoff can place. True on a full build. -#}
{% macro staging_window(key, cutoff) -%}
    {%- if cutoff -%}
        ({{ key }} in (select reloaded_keys.record_key from reloaded_keys)
        or ({{ key }} is null and (_loaded_at >= {{ cutoff }} or _loaded_at is null)))
    {%- else -%}
        1 = 1
    {%- endif -%}
{%- endmacro %}
