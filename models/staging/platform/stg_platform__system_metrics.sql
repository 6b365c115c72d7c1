{#- A view over its base model, which is incremental: a table here would copy every
    staged row again on each run. -#}
{{ config(materialized='view') }}

with

samples as (

    select * from {{ ref('base_platform__system_metrics') }}
    where duplicate_rank = 1 and quarantine_reason is null

),

final as (

    select
        record_key as system_metric_id,
        host,
        service,
        metric_name,
        metric_value,
        sampled_at,
        _loaded_at
    from samples

)

select * from final
