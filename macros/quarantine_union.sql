{#- A source's quarantine: every deduplicated raw row that failed a staging rule, with
    the rule as reason and the row itself (PII already hashed) as JSON text. -#}
{% macro quarantine_union(tables) -%}
    {%- for source_table, base_model in tables %}
    select
        {{ dbt.hash(dbt.concat([
            "'" ~ source_table ~ "'",
            "raw_record",
            "coalesce(cast(_loaded_at as " ~ dbt.type_string() ~ "), '')",
        ])) }}
            as quarantined_row_id,
        '{{ source_table }}' as source_table,
        record_key,
        quarantine_reason as reason,
        raw_record,
        _loaded_at
    from {{ ref(base_model) }}
    where duplicate_rank = 1 and quarantine_reason is not null
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
{%- endmacro %}
