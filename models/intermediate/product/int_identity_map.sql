{{ config(opsmetrics.deleted_then_appended_config(
    "{{ opsmetrics.delete_reidentified_anonymous_ids() }}"
)) }}

{%- set cutoff = opsmetrics.incremental_load_cutoff('last_loaded_at') %}

{#- An anonymous_id is identified by the first event that carries both it and a user_id
    (earliest occurred_at, then event_id). If a device later identifies as another user,
    the first identification still wins for its anonymous events; the count of distinct
    users is kept so shared devices can be found. An incremental run rebuilds only the
    anonymous_ids a changed identification carries (the pre-hook has deleted their rows):
    every other anonymous_id's identifying events are staged as they were. -#}
-- depends_on: {{ ref('base_product__events') }}
-- depends_on: {{ ref('base_app__users') }}
-- depends_on: {{ ref('base_app__customers') }}

with

events as (

    select * from {{ ref('stg_product__events') }}
    {%- if cutoff %}
    where anonymous_id in (
        select changed.anonymous_id
        from ({{ opsmetrics.changed_identifications(cutoff) }}) as changed
    )
    {%- endif %}

),

identifications_ranked as (

    select
        anonymous_id,
        user_id,
        occurred_at,
        row_number() over (
            partition by anonymous_id order by occurred_at, event_id
        ) as identification_rank
    from events
    where anonymous_id is not null and user_id is not null

),

users_per_anonymous_id as (

    select
        anonymous_id,
        count(distinct user_id) as identified_user_count,
        max(_loaded_at) as last_loaded_at
    from events
    where anonymous_id is not null and user_id is not null
    group by anonymous_id

),

identity_map as (

    select
        identifications_ranked.anonymous_id,
        identifications_ranked.user_id,
        users_per_anonymous_id.identified_user_count,
        users_per_anonymous_id.identified_user_count > 1 as is_shared_anonymous_id,
        identifications_ranked.occurred_at as identified_at,
        users_per_anonymous_id.last_loaded_at
    from identifications_ranked
    inner join users_per_anonymous_id
        on identifications_ranked.anonymous_id = users_per_anonymous_id.anonymous_id
    where identifications_ranked.identification_rank = 1

)

select * from identity_map
