{#- Every raw system metrics row, typed and checked against the row rules, NOT
    deduplicated: no window over the whole table, so the incremental operations marts
    can read the versions of a few days; base_platform__system_metrics adds the
    duplicate rank for staging and quarantine. A view, unlike the rest of staging: as a
    table every incremental run would first copy the whole raw table again. -#}
{{ config(materialized='view') }}

with

source as (

    select * from {{ source('platform', 'system_metrics') }}

),

typed as (

    select
        lower(nullif(trim(host), '')) as host,
        lower(nullif(trim(service), '')) as service,
        lower(nullif(trim(metric_name), '')) as metric_name,
        value as metric_value,
        {{ opsmetrics.parse_timestamp_utc('sampled_at') }} as sampled_at,
        nullif(trim(sampled_at), '') as sampled_at_text,
        _loaded_at,
        {{ dbt.concat([
            "coalesce(lower(trim(host)), '')", "'|'", "coalesce(lower(trim(metric_name)), '')",
            "'|'", "coalesce(trim(sampled_at), '')",
        ]) }} as record_key,
        {{ opsmetrics.row_to_json('source') }} as raw_record
    from source

),

validated as (

    select
        *,
        case
            when
                host is null or service is null or metric_name is null
                or metric_value is null or sampled_at_text is null
                then 'null_required_field'
            when _loaded_at is null then 'missing_loaded_at'
            when {{ opsmetrics.is_non_finite('metric_value') }} then 'non_finite_number'
            when sampled_at is null then 'unparseable_timestamp'
            when {{ opsmetrics.is_after_load('sampled_at') }} then 'future_timestamp'
            when
                metric_name not in (
                    'cpu_utilization', 'memory_utilization', 'queue_depth', 'active_connections'
                )
                then 'invalid_value'
            when
                metric_value < 0
                or (metric_name like '%utilization' and metric_value > 100)
                then 'out_of_range_value'
            when
                metric_name = 'queue_depth'
                and metric_value > {{ var('max_plausible_queue_depth') }}
                then 'implausible_value'
        end as quarantine_reason
    from typed

)

select * from validated
