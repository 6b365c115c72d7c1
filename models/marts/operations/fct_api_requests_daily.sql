{{ config(opsmetrics.days_rebuilt_config('request_date')) }}

-- depends_on: {{ ref('base_platform__api_requests') }}
{{ opsmetrics.api_requests_rollup(86400) }}
