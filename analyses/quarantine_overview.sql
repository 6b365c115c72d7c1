{#- Which rules reject the most rows, per raw table: where to look first when a
    source starts sending bad data. -#}
with

quarantined as (

    {% for source_name in ['app', 'billing', 'finance', 'marketing', 'platform', 'product', 'surveys'] %}
        select
            source_table,
            reason
        from {{ ref('stg_' ~ source_name ~ '__quarantine') }}
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

counted as (

    select
        source_table,
        reason,
        count(*) as quarantined_rows
    from quarantined
    group by source_table, reason

)

select * from counted
order by quarantined_rows desc
