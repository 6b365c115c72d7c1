{#- A view over its base model, which is incremental: a table here would copy every
    staged row again on each run. -#}
{{ config(materialized='view') }}

{#- Event names follow object_action; feature events are feature_<name>_<action>, so
    the feature name is what lies between "feature_" and the last underscore. -#}
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
        {{ opsmetrics.regexp_replace('event_name', '_[a-z0-9]+$', '') }} as event_object,
        {{ opsmetrics.regexp_replace('event_name', '^.*_', '') }} as event_action,
        case
            when event_name like 'feature!_%!_%' escape '!'
                then {{ opsmetrics.regexp_replace(
                    'event_name', '^feature_(.+)_[a-z0-9]+$', '\\1'
                ) }}
        end as feature_name,
        properties,
        occurred_at,
        received_at,
        _loaded_at
    from events

)

select * from final
