{{ config(opsmetrics.days_rebuilt_config('slo_date')) }}

{% set cutoff = opsmetrics.incremental_load_cutoff('last_loaded_at') %}
-- depends_on: {{ ref('base_platform__api_requests') }}

with

{{ opsmetrics.requests_in_scope(cutoff) }},

slo_targets as (

    select * from {{ ref('slo_targets') }}

),

daily_requests as (

    select
        service,
        count(*) as requests,
        count(case when not is_server_error then 1 end) as good_requests,
        count(case when is_server_error then 1 end) as bad_requests,
        {{ opsmetrics.percentile_cont('response_time_ms', 0.95) }} as p95_latency_ms,
        request_date as slo_date,
        max(_loaded_at) as last_loaded_at
    from requests_in_scope
    group by service, request_date

),

{# A left join, so a service without a target shows up (and fails the not_null test on
    its target) instead of silently dropping out of the SLO report. -#}
targets_joined as (

    select
        daily_requests.*,
        slo_targets.availability_target_pct,
        slo_targets.latency_p95_target_ms
    from daily_requests
    left join slo_targets on daily_requests.service = slo_targets.service

),

final as (

    select
        service,
        requests,
        good_requests,
        bad_requests,
        availability_target_pct,
        latency_p95_target_ms,
        p95_latency_ms,
        {{ opsmetrics.slo_kpis() }},
        slo_date,
        last_loaded_at
    from targets_joined

)

select * from final
