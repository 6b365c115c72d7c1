{{
    config(
        materialized='incremental',
        incremental_strategy=opsmetrics.incremental_strategy('delete+insert'),
        unique_key='hour_date',
        partition_by=opsmetrics.incremental_partition_by('hour_date'),
        on_schema_change='fail',
    )
}}

{% set cutoff = opsmetrics.incremental_load_cutoff('last_loaded_at') %}
{%- if cutoff %}
    {%- set first_day = opsmetrics.first_reloaded_day(
        ref('base_platform__system_metrics_validated'), 'sampled_at', cutoff
    ) %}
{%- endif %}

{#- Reads every raw version (base_platform__system_metrics_validated: no window over the
    whole table) and keeps the copy staging keeps. Incremental runs rebuild every day from
    the first one holding a sample loaded since the cutoff: the sample time is part of the
    natural key, so all versions of a sample share its day and ranking them there is
    exact; versions loaded too early to be a clean latest copy are skipped unread. #}
with

{# Named columns: the raw record (JSON of the whole row) is never computed here. #}
sample_versions as (

    select
        host,
        service,
        metric_name,
        metric_value,
        sampled_at,
        sampled_at_text,
        quarantine_reason,
        _loaded_at
    from {{ ref('base_platform__system_metrics_validated') }}
    {%- if cutoff %}
    where
        _loaded_at >= {{ opsmetrics.clean_versions_loaded_since(first_day) }}
        and cast(sampled_at as date) >= {{ first_day }}
    {%- endif %}

),

versions_ranked as (

    select
        *,
        {{ opsmetrics.duplicate_rank(
            ['host', 'metric_name', 'sampled_at'], 'system_metrics'
        ) }}
            as duplicate_rank
    from sample_versions

),

samples as (

    select * from versions_ranked
    where duplicate_rank = 1 and quarantine_reason is null

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
