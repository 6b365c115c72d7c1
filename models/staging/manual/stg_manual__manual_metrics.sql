with

manual_metrics as (

    select * from {{ ref('base_manual__manual_metrics') }}
    where duplicate_rank = 1 and quarantine_reason is null

),

final as (

    select
        record_key as manual_metric_id,
        metric_name,
        unit,
        source,
        entered_by,
        value,
        period_start_date,
        period_end_date,
        _loaded_at
    from manual_metrics

)

select * from final
