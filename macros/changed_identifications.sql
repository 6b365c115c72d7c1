{#- On an incremental run: every version (base_product__events: `anonymous_id`,
    `occurred_at`) holding an identification (both ids) of an event whose staged state
    may have changed since `cutoff`: the event has a version loaded since, or its user's
    staged state may have changed (reloaded_users: staging keeps an event only while its
    user is staged). Every identification that was or is staged and changed is among
    them, in its old version and its new one, so an anonymous_id none of them carries
    keeps its row of int_identity_map. The calling model declares the dependency on the
    base models with depends_on comments. -#}
{% macro changed_identifications(cutoff) -%}
    select
        versions.anonymous_id,
        versions.occurred_at
    from {{ ref('base_product__events') }} as versions
    where
        versions.anonymous_id is not null
        and versions.user_id is not null
        and (
            versions.record_key in (
                {{ opsmetrics.reloaded_keys(ref('base_product__events'), cutoff) }}
            )
            or versions.user_id in ({{ opsmetrics.reloaded_users(cutoff) }})
        )
{%- endmacro %}
