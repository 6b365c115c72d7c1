{#- Pre-hook of int_identity_map on an incremental run: delete the row of every
    anonymous_id a changed identification carries (changed_identifications); the model
    then inserts each one's new row (an anonymous_id left without an identification stays
    deleted, as on a full build). -#}
{% macro delete_reidentified_anonymous_ids() -%}
    {%- set cutoff = opsmetrics.incremental_load_cutoff('last_loaded_at') -%}
    {%- if cutoff -%}
        delete from {{ this }}
        where anonymous_id in (
            select changed.anonymous_id
            from ({{ opsmetrics.changed_identifications(cutoff) }}) as changed
        )
    {%- endif -%}
{%- endmacro %}
