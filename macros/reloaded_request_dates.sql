{#- The request dates an incremental aggregate must rebuild: every date holding a version
    of a request with a version loaded since `cutoff` (new rows, late rows, re-sent rows
    and the earlier copies they replace), read from base_platform__api_requests, which
    holds every raw version, typed and ranked once. The calling model declares the
    dependency with a depends_on comment. -#}
{% macro reloaded_request_dates(cutoff) -%}
    select distinct cast(requested_at as date) as request_date
    from {{ ref('base_platform__api_requests') }}
    where
        requested_at is not null
        and record_key in (
            select reloaded.record_key from {{ ref('base_platform__api_requests') }} as reloaded
            where reloaded._loaded_at >= {{ cutoff }}
        )
{%- endmacro %}
