{#- The first CTEs of a one-pass staging model keyed by raw text: `source`, the raw rows
    of `raw_relation` to read. On an incremental run (a `cutoff`) that is every raw
    version of every natural key with a version loaded since the cutoff (`key`, the
    typed key expression over raw columns, collected in `reloaded_keys`, with the keys of
    the query `also_reloaded` when given), and every row without a key or without
    `_loaded_at` that a cutoff can place; the condition needs no typing, so the warehouse
    applies it to the raw scan. Every raw row on a full build. -#}
{% macro source_by_reloaded_keys(raw_relation, key, cutoff, also_reloaded=none) -%}
{%- if cutoff -%}
reloaded_keys as (

    select distinct {{ key }} as record_key
    from {{ raw_relation }}
    where _loaded_at >= {{ cutoff }} or _loaded_at is null
    {%- if also_reloaded %}
    union
    {{ also_reloaded }}
    {%- endif %}

),

{% endif -%}
source as (

    select * from {{ raw_relation }}
    {%- if cutoff %}
    where
        {{ key }} in (select reloaded_keys.record_key from reloaded_keys)
        or ({{ key }} is null and (_loaded_at >= {{ cutoff }} or _loaded_at is null))
    {%- endif %}

)
{%- endmacro %}
