{{ config(opsmetrics.days_rebuilt_config('hour_date')) }}

{% set cutoff = opsmetrics.incremental_load_cutoff('last_loaded_at') %}
{%- if cutoff %}
    {%- set first_day = opsmetrics.first_reloaded_day(
        ref('base_platform__system_metrics'), 'sampled_at', cutoff
    ) %}
{%- endif %}

{#- Incremental runs rebuild every day from the first one holding a version of a sample
    with a version loaded since the cutoff: the sample time is part of the natural key,
    so every version of a sample shares its day. -#}
-- depends_on: {{ ref('base_platform__system_metrics') }}

with

samples as (

    select * from {{ ref('stg_platform__system_metrics') }}
    {%- if cutoff %}
    where sampled_at >= cast({{ first_day }} as timestamp)
    {%- endif %}

),

samples_hourly as (

    select
        service,
        host,
        {{ dbt.date_trunc('hour', 'sampled_at') }} as hour_start,
        metric_name,
        metric_value,
        _loaded_at
    from samples

),

aggregated as (

    select
        service,
        host,
        count(*) as samples,
        {{ opsmetrics.exact_avg(
            "case when metric_name = 'cpu_utilization' then metric_value end"
        ) }}
            as avg_cpu_utilization_pct,
        max(case when metric_name = 'cpu_utilization' then metric_value end)
            as max_cpu_utilization_pct,
        {{ opsmetrics.exact_avg(
            "case when metric_name = 'memory_utilization' then metric_value end"
        ) }}
            as avg_memory_utilization_pct,
        max(case when metric_name = 'memory_utilization' then metric_value end)
            as max_memory_utilization_pct,
        max(case when metric_name = 'queue_depth' then metric_value end) as max_queue_depth,
        max(case when metric_name = 'active_connections' then metric_value end)
            as max_active_connections,
        count(case when metric_name = 'queue_depth' then 1 end) as queue_depth_samples,
        avg(case when metric_name = 'queue_depth' then metric_value end) as avg_queue_depth,
        count(case when metric_name = 'active_connections' then 1 end)
            as active_connections_samples,
        avg(case when metric_name = 'active_connections' then metric_value end)
            as avg_active_connections,
        cast(hour_start as date) as hour_date,
        hour_start,
        max(_loaded_at) as last_loaded_at
    from samples_hourly
    group by service, host, hour_start

)

select * from aggregated
