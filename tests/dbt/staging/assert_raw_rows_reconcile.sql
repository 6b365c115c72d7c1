{#- For every raw table: raw rows = staged rows + quarantined rows + removed duplicates.
    Counts the raw tables themselves, so a row lost anywhere in staging fails it. -#}
with

{% for t in opsmetrics.staging_tables() %}
    {{ t.table }}_counts as (

        select
            '{{ t.table }}' as source_table,
            (select count(*) from {{ source(t.source, t.table) }}) as raw_rows,
            (
                select count(*) from {{ ref(t.staged) }}
                {%- if t.staged_filter %} where {{ t.staged_filter }}{% endif %}
            ) as staged_rows,
            (
                select count(*) from {{ ref('stg_' ~ t.source ~ '__quarantine') }}
                where source_table = '{{ t.table }}'
            ) as quarantined_rows,
            (
                select count(*) from {{ ref('base_' ~ t.source ~ '__' ~ t.table) }}
                where duplicate_rank > 1
            ) as duplicate_rows_removed

    ),

{% endfor %}
all_tables as (

    {% for t in opsmetrics.staging_tables() %}
        select * from {{ t.table }}_counts
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

)

select *
from all_tables
where raw_rows <> staged_rows + quarantined_rows + duplicate_rows_removed
