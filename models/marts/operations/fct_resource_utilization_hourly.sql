with

samples as (

    select * from {{ ref('stg_platform__system_metrics') }}

),

samples_hourly as (

    select
        service,
        host,
        {{ dbt.date_trunc('hour', 'sampled_at') }} as hour_start,
        metric_name,
        metric_value
    from samples

),

aggregated as (

    select
        service,
        host,
        count(*) as samples,
        avg(metric_value) filter (where metric_name = 'cpu_utilization')
            as avg_cpu_utilization_pct,
        max(metric_value) filter (where metric_name = 'cpu_utilization')
            as max_cpu_utilization_pct,
        avg(metric_value) filter (where metric_name = 'memory_utilization')
            as avg_memory_utilization_pct,
        max(metric_value) filter (where metric_name = 'memory_utilization')
            as max_memory_utilization_pct,
        max(metric_value) filter (where metric_name = 'queue_depth') as max_queue_depth,
        max(metric_value) filter (where metric_name = 'active_connections')
            as max_active_connections,
        cast(hour_start as date) as hour_date,
        hour_start
    from samples_hourly
    group by service, host, hour_start

)

select * from aggregated
