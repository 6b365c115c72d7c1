{#- Pre-hook of fct_events on an incremental run: delete every event reresolved_events
    selects; the model then inserts each one's new row (an event whose latest version is
    quarantined stays deleted, as on a full build). -#}
{% macro delete_reresolved_events() -%}
    {%- set cutoff = opsmetrics.incremental_load_cutoff('_loaded_at') -%}
    {%- if cutoff -%}
        delete from {{ this }}
        where {{ opsmetrics.reresolved_events(cutoff) }}
    {%- endif -%}
{%- endmacro %}
