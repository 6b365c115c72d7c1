{#- The quarantine rules are row-level, so ranking after them (in
    base_platform__api_requests_validated) gives the same rows as ranking first: the
    latest copy is kept and judged, an older good copy never replaces a bad latest one. -#}
with

validated as (

    select * from {{ ref('base_platform__api_requests_validated') }}

),

deduplicated as (

    select
        *,
        {{ opsmetrics.duplicate_rank(
            ['request_id'], 'api_requests'
        ) }} as duplicate_rank
    from validated

)

select * from deduplicated
