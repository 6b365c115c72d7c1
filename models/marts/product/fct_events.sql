{{ config(opsmetrics.deleted_then_appended_config(
    "{{ opsmetrics.delete_reresolved_events() }}"
)) }}

{%- set cutoff = opsmetrics.incremental_load_cutoff('_loaded_at') %}

{#- An event keeps its own user_id; an anonymous event takes the user its anonymous_id
    was (first) identified as, whether it happened before or after the identification.
    An incremental run re-resolves only the events reresolved_events selects (the pre-hook
    has deleted their rows): those with a version loaded since the cutoff and those whose
    identification, user or customer may have changed. -#}
-- depends_on: {{ ref('base_product__events') }}
-- depends_on: {{ ref('base_app__users') }}
-- depends_on: {{ ref('base_app__customers') }}

with

{# Not the event name's parts from the view: its regexps would run on every staged
    event before the incremental window filters them (event_name_parts). #}
events as (

    select
        event_id,
        anonymous_id,
        user_id,
        event_name,
        occurred_at,
        received_at,
        _loaded_at
    from {{ ref('stg_product__events') }}
    {%- if cutoff %}
    where {{ opsmetrics.reresolved_events(cutoff) }}
    {%- endif %}

),

identity_map as (select * from {{ ref('int_identity_map') }}),

users as (select * from {{ ref('stg_app__users') }}),

events_resolved as (

    select
        events.event_id,
        events.anonymous_id,
        coalesce(events.user_id, identity_map.user_id) as user_id,
        users.customer_id,
        events.event_name,
        {{ opsmetrics.event_name_parts('events.event_name') }},
        case
            when events.user_id is not null then 'event'
            when identity_map.user_id is not null then 'identity_map'
            else 'anonymous'
        end as identity_source,
        coalesce(events.user_id, identity_map.user_id) is not null as is_identified,
        cast(events.occurred_at as date) as occurred_date,
        events.occurred_at,
        events.received_at,
        events._loaded_at
    from events
    left join identity_map
        on events.anonymous_id = identity_map.anonymous_id
    left join users
        on coalesce(events.user_id, identity_map.user_id) = users.user_id

)

select * from events_resolved
