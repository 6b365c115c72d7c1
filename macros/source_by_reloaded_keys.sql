{#- The first CTEs of a one-pass staging model keyed by raw text: `source`, the raw rows
    of `raw_relation` to read. On an incremental run (a `cutoff`) that is every raw
    version of every natural key with a version loaded since the cutoff (the key is
    `nullif(trim(key_column), '')`, collected in `reloaded_keys`, with the keys of the
    query `also_reloaded` when given), and every row without a key or without
    `_loaded_at` that a cutoff can place; the condition needs no typing, so the warehouse
    applies it to the raw scan. Every raw row on a full build. -#}
{% macro source_by_reloaded_keys(raw_relation, key_column, cutoff, also_reloaded=none) -%}
{%- set key = "nullif(trim(" ~ key_column ~ "), '')" -%}
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
    {#- Trimming every raw row's key to match it cost most of the run. A raw key equal
        to its trimmed form matches the keys as it is; the other rows, empty or null keys
        and keys trim() changes (found by the cheap may_be_trimmed first), are few, and
        only they are trimmed. The two parts are disjoint: a key trim() changes is never
        a trimmed key. #}
    where {{ key_column }} in (select reloaded_keys.record_key from reloaded_keys)
    union all
    select * from {{ raw_relation }}
    where
        (
            {{ key_column }} is null
            or {{ key_column }} = ''
            or (
                {{ opsmetrics.may_be_trimmed(key_column) }}
                and {{ key_column }} <> trim({{ key_column }})
            )
        )
        and (
            {{ key }} in (select reloaded_keys.record_key from reloaded_keys)
            or ({{ key }} is null and (_loaded_at >= {{ cutoff }} or _loaded_at is null))
        )
    {%- endif %}

)
{%- endmacro %}
