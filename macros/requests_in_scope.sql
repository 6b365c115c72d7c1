{#- The CTE `requests_in_scope` of a mart rebuilding whole days from fct_api_requests:
    on an incremental run (a `cutoff`) the requests of every date holding a version of a
    request with a version loaded since the cutoff (reloaded_days), all of them
    on a full build. The calling model declares its dependency on
    base_platform__api_requests with a depends_on comment. -#}
{% macro requests_in_scope(cutoff) -%}
requests as (

    select * from {{ ref('fct_api_requests') }}

),
{%- if cutoff %}

reloaded_dates as (

    {{ opsmetrics.reloaded_days(
        ref('base_platform__api_requests'), 'requested_at', cutoff, 'record_key'
    ) }}

),
{%- endif %}

requests_in_scope as (

    select * from requests
    {%- if cutoff %}
    where request_date in (select reloaded_dates.reloaded_date from reloaded_dates)
    {%- endif %}

)
{%- endmacro %}
