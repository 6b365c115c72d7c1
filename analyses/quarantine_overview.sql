{#- Which rules reject the most rows, per raw table: where to look first when a
    source starts sending bad data. -#}
with

quarantined as (

    {% set source_names = opsmetrics.staging_tables() | map(attribute='source') | unique %}
    {% for source_name in source_names | list %}
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
