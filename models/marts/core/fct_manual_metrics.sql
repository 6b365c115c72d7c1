{#- The accepted manual inputs, one row per metric and period, for the semantic layer
    (market share reads market_size from here). -#}
with

manual_metrics as (select * from {{ ref('stg_manual__manual_metrics') }}),

definitions as (select * from {{ ref('manual_metric_definitions') }}),

final as (

    select
        manual_metrics.manual_metric_id,
        manual_metrics.metric_name,
        manual_metrics.unit,
        definitions.period_grain,
        manual_metrics.source,
        manual_metrics.entered_by,
        manual_metrics.value,
        manual_metrics.period_start_date,
        manual_metrics.period_end_date,
        manual_metrics._loaded_at
    from manual_metrics
    inner join definitions
        on manual_metrics.metric_name = definitions.metric_name

)

select * from final
