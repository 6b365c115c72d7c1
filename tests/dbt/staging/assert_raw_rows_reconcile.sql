{#- fct_staging_reconciliation counts raw rows from the base models; this checks those
    counts against the raw tables themselves, so together with its is_reconciled test
    a row lost anywhere in staging fails the build. -#}
with

raw_counts as (

    {% for t in opsmetrics.staging_tables() %}
        select
            '{{ t.table }}' as source_table,
            count(*) as raw_rows
        from {{ source(t.source, t.table) }}
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

reconciliation as (

    select * from {{ ref('fct_staging_reconciliation') }}

),

mismatched as (

    select
        raw_counts.source_table,
        raw_counts.raw_rows,
        reconciliation.raw_rows as reconciled_raw_rows,
        reconciliation.is_reconciled
    from raw_counts
    left join reconciliation
        on raw_counts.source_table = reconciliation.source_table
    where
        reconciliation.raw_rows is null
        or reconciliation.raw_rows <> raw_counts.raw_rows
        or not reconciliation.is_reconciled

)

select * from mismatched
