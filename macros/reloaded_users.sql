{#- On an incremental run: the users (record_key) whose staged state may have changed
    since `cutoff`, as a query: a version of the user, or of the user's customer, was
    loaded since (staging keeps a user only while its customer is staged). The calling
    model declares the dependency on base_app__users and base_app__customers with
    depends_on comments. -#}
{% macro reloaded_users(cutoff) -%}
    select users.record_key from {{ ref('base_app__users') }} as users
    where
        users._loaded_at >= {{ cutoff }}
        or users.customer_id in (
            {{ opsmetrics.reloaded_keys(ref('base_app__customers'), cutoff) }}
        )
{%- endmacro %}
