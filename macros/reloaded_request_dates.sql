{#- The request dates an incremental aggregate must rebuild: every date holding a version
    of a request loaded since `cutoff` (new rows, late rows, and the earlier copies that
    re-sent rows replace when both were loaded within the lookback), read from every raw
    version (base_platform__api_requests_validated: no window, so the cutoff prunes the
    scan). The calling model declares the dependency with a depends_on comment. -#}
{% macro reloaded_request_dates(cutoff) -%}
    select distinct cast(requested_at as date) as request_date
    from {{ ref('base_platform__api_requests_validated') }}
    where requested_at is not null and _loaded_at >= {{ cutoff }}
{%- endmacro %}
