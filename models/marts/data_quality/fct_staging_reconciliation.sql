{#- One row per raw table: where every raw row went. Base models hold every raw row,
    so raw_rows here is counted from them; the singular test
    assert_raw_rows_reconcile checks the same identity against the raw tables. -#}
with

{% for t in opsmetrics.staging_tables() %}
    {{ t.table }}_counts as (

        select
            '{{ t.source }}' as source_name,
            '{{ t.table }}' as source_table,
            (select count(*) from {{ ref('base_' ~ t.source ~ '__' ~ t.table) }}) as raw_rows,
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

),

reconciled as (

    select
        source_name,
        source_table,
        raw_rows,
        staged_rows,
        quarantined_rows,
        duplicate_rows_removed,
        raw_rows = staged_rows + quarantined_rows + duplicate_rows_removed as is_reconciled
    from all_tables

)

select * from reconciled
