{#- On an incremental run of fct_events: a condition true for every event whose fct_events
    row may differ from the last run's, over columns `event_id`, `anonymous_id` and
    `user_id` (the event's own user on staged events, the resolved one in fct_events):
    it holds for an event in both states, so the pre-hook deletes by it and the model
    re-inserts by it. Those are the events with a version loaded since `cutoff`; every
    event of an anonymous_id that such a version, or an event of a changed user, carries
    (its identification may have changed); and every event of a user with a version loaded
    since the cutoff, or whose customer has one (the user's customer_id, or the event's
    verdict in staging through its user, may have changed). Rows without _loaded_at count
    as loaded since. Reads the base models, which keep every raw version. -#}
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
            where
                versions.record_key in (
                    select reloaded.record_key from {{ ref('base_product__events') }} as reloaded
                    where reloaded._loaded_at >= {{ cutoff }} or reloaded._loaded_at is null
                )
                or versions.user_id in ({{ reloaded_users }})
        )
    )
{%- endmacro %}
