{#- On an incremental run of fct_events: a condition true for every event whose fct_events
    row may differ from the last run's, over columns `event_id`, `anonymous_id` and
    `user_id` (the event's own user on staged events, the resolved one in fct_events):
    it holds for an event in both states, so the pre-hook deletes by it and the model
    re-inserts by it. Those are the events with a version loaded since `cutoff`; every
    event of a user with a version loaded since the cutoff, or whose customer has one (the
    user's customer_id, or the event's verdict in staging through its user, may have
    changed); and every event of an anonymous_id whose first identification may have
    changed: one carried by an event of such a user, or by a version of a re-loaded event
    that holds a user_id and occurred no later than the anonymous_id's identification now
    (int_identity_map; or it has none now). A re-loaded version occurring after the
    current first identification, old or new, cannot have been or become the first.
    Rows without _loaded_at count as loaded since. Reads the base models, which keep
    every raw version. -#}
{% macro reresolved_events(cutoff) -%}
{%- set reloaded_users -%}
    select users.record_key from {{ ref('base_app__users') }} as users
    where
        users._loaded_at >= {{ cutoff }}
        or users._loaded_at is null
        or users.customer_id in (
            select customers.record_key from {{ ref('base_app__customers') }} as customers
            where customers._loaded_at >= {{ cutoff }} or customers._loaded_at is null
        )
{%- endset -%}
    (
        event_id in (
            select reloaded.record_key from {{ ref('base_product__events') }} as reloaded
            where reloaded._loaded_at >= {{ cutoff }} or reloaded._loaded_at is null
        )
        or user_id in ({{ reloaded_users }})
        or anonymous_id in (
            select versions.anonymous_id from {{ ref('base_product__events') }} as versions
            left join {{ ref('int_identity_map') }} as identified
                on versions.anonymous_id = identified.anonymous_id
            where
                versions.record_key in (
                    select reloaded.record_key from {{ ref('base_product__events') }} as reloaded
                    where reloaded._loaded_at >= {{ cutoff }} or reloaded._loaded_at is null
                )
                and versions.user_id is not null
                and (
                    identified.anonymous_id is null
                    or versions.occurred_at <= identified.identified_at
                )
        )
        or anonymous_id in (
            select versions.anonymous_id from {{ ref('base_product__events') }} as versions
            where versions.user_id in ({{ reloaded_users }})
        )
    )
{%- endmacro %}
