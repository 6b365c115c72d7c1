{#- A view over its base model, which is incremental: a table here would copy every
    staged row again on each run. -#}
{{ config(materialized='view') }}

with

requests as (

    select * from {{ ref('base_platform__api_requests') }}
    where duplicate_rank = 1 and quarantine_reason is null

),

final as (

    select
        request_id,
        customer_id,
        service,
        endpoint,
        http_method,
        status_code,
        response_time_ms,
        requested_at,
        _loaded_at
    from requests

)

select * from final
