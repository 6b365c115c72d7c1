{#- Pre-hook of fct_api_requests on an incremental run: delete every request with a
    version loaded since the cutoff (base_platform__api_requests holds every version).
    The model then inserts each one's staged row; a request whose latest version is
    quarantined stays deleted, as on a full build. -#}
{% macro delete_reloaded_requests() -%}
    {%- set cutoff = opsmetrics.incremental_load_cutoff('_loaded_at') -%}
    {%- if cutoff -%}
        delete from {{ this }}
        where request_id in (
            select record_key from {{ ref('base_platform__api_requests') }}
            where _loaded_at >= {{ cutoff }}
        )
    {%- endif -%}
{%- endmacro %}
