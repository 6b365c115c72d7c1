{{ config(opsmetrics.days_rebuilt_config('bucket_date')) }}

-- depends_on: {{ ref('base_platform__api_requests') }}
{{ opsmetrics.api_requests_rollup(3600, dbt.date_trunc('hour', 'requested_at')) }}
