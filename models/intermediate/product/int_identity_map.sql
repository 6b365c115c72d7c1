{#- An anonymous_id is identified by the first event that carries both it and a user_id
    (earliest occurred_at, then event_id). If a device later identifies as another user,
    the first identification still wins for its anonymous events; the count of distinct
    users is kept so shared devices can be found. -#}
with

events as (select * from {{ ref('stg_product__events') }}),

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
        count(distinct user_id) as identified_user_count
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
        identifications_ranked.occurred_at as identified_at
    from identifications_ranked
    inner join users_per_anonymous_id
        on identifications_ranked.anonymous_id = users_per_anonymous_id.anonymous_id
    where identifications_ranked.identification_rank = 1

)

select * from identity_map
