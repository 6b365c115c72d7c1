{#- Pre-hook of fct_api_requests on an incremental run: delete every request with a
    version loaded since the cutoff. The model then inserts the latest valid version of
    each; a request whose latest version is quarantined stays deleted, as on a full build. -#}
{% macro delete_reloaded_requests() -%}
    {%- set cutoff = opsmetrics.incremental_load_cutoff('_loaded_at') -%}
    {%- if cutoff -%}
        delete from {{ this }}
        where request_id in (
            select request_id from {{ ref('base_platform__api_requests_validated') }}
            where _loaded_at >= {{ cutoff }}
        )
    {%- endif -%}
{%- endmacro %}
