{#- The quarantine rules are row-level, so ranking after them (in
    base_platform__health_checks_validated) gives the same rows as ranking first. -#}
with

validated as (

    select * from {{ ref('base_platform__health_checks_validated') }}

),

deduplicated as (

    select
        *,
        {{ opsmetrics.duplicate_rank(
            ['check_id'], 'health_checks'
        ) }} as duplicate_rank
    from validated

)

select * from deduplicated
