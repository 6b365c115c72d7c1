{#- A view over its base model, which is incremental: a table here would copy every
    staged row again on each run. -#}
{{ config(materialized='view') }}

{#- The parts of the event name: event_name_parts. -#}
with

events as (

    select * from {{ ref('base_product__events') }}
    where duplicate_rank = 1 and quarantine_reason is null

),

final as (

    select
        event_id,
        anonymous_id,
        user_id,
        event_name,
        {{ opsmetrics.event_name_parts('event_name') }},
        properties,
        occurred_at,
        received_at,
        _loaded_at
    from events

)

select * from final
