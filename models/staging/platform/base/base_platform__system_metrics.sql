{#- The quarantine rules are row-level, so ranking after them (in
    base_platform__system_metrics_validated) gives the same rows as ranking first. -#}
with

validated as (

    select * from {{ ref('base_platform__system_metrics_validated') }}

),

deduplicated as (

    select
        *,
        {{ opsmetrics.duplicate_rank(
            ['host', 'metric_name', 'sampled_at'], 'system_metrics'
        ) }} as duplicate_rank
    from validated

)

select * from deduplicated
