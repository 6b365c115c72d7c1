{#- On an incremental run of fct_events: a condition true for every event whose fct_events
    row may differ from the last run's, over columns `event_id`, `anonymous_id` and
    `user_id` (the event's own user on staged events, the resolved one in fct_events):
    it holds for an event in both states, so the pre-hook deletes by it and the model
    re-inserts by it. Those are the events with a version loaded since `cutoff`; every
    event of a user whose staged state may have changed (reloaded_users: the user's
    customer_id, or the event's verdict in staging through its user); and every event of
    an anonymous_id whose first identification, or that identification's user, may have
    changed: one carried by a changed identification (changed_identifications) that
    occurred no later than the anonymous_id's identification now (int_identity_map,
    already rebuilt by this run; or it has none now). A changed identification occurring
    after the current first identification, old or new, cannot have been or become the
    first; a change of the first one's user makes that identification a changed one.
    Reads the base models, which keep every raw version. -#}
{% macro reresolved_events(cutoff) -%}
    (
        event_id in ({{ opsmetrics.reloaded_keys(ref('base_product__events'), cutoff) }})
        or user_id in ({{ opsmetrics.reloaded_users(cutoff) }})
        or anonymous_id in (
            select changed.anonymous_id
            from ({{ opsmetrics.changed_identifications(cutoff) }}) as changed
            left join {{ ref('int_identity_map') }} as identified
                on changed.anonymous_id = identified.anonymous_id
            where
                identified.anonymous_id is null
                or changed.occurred_at <= identified.identified_at
        )
    )
{%- endmacro %}
