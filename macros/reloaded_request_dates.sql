{#- The request dates an incremental aggregate must rebuild: every date holding a version
    of a request loaded since `cutoff` (new rows, late rows, and the earlier copies that
    re-sent rows replace when both were loaded within the lookback), read from
    `versions_relation` (base_platform__api_requests_validated: every raw version). -#}
{% macro reloaded_request_dates(versions_relation, cutoff) -%}
    select distinct cast(requested_at as date) as request_date
    from {{ versions_relation }}
    where
        requested_at is not null
        {%- if cutoff %}
        and _loaded_at >= {{ cutoff }}
        {%- endif %}
{%- endmacro %}
