{#- Every grain counts the same requests: per service, endpoint and day, the 5-minute and
    hourly buckets add up to the daily row, and the daily rows to the request fact. A day
    missed or rebuilt twice by an incremental run fails it. -#}
with

requests as (

    select * from {{ ref('fct_api_requests') }}

),

five_minute as (

    select * from {{ ref('fct_api_requests_5min') }}

),

hourly as (

    select * from {{ ref('fct_api_requests_hourly') }}

),

daily as (

    select * from {{ ref('fct_api_requests_daily') }}

),

fact_counts as (

    select
        service,
        endpoint,
        request_date,
        count(*) as requests
    from requests
    group by service, endpoint, request_date

),

five_minute_counts as (

    select
        service,
        endpoint,
        bucket_date as request_date,
        sum(requests) as requests
    from five_minute
    group by service, endpoint, bucket_date

),

hourly_counts as (

    select
        service,
        endpoint,
        bucket_date as request_date,
        sum(requests) as requests
    from hourly
    group by service, endpoint, bucket_date

),

compared as (

    select
        coalesce(fact_counts.service, daily.service) as service,
        coalesce(fact_counts.endpoint, daily.endpoint) as endpoint,
        coalesce(fact_counts.request_date, daily.request_date) as request_date,
        fact_counts.requests as fact_requests,
        daily.requests as daily_requests,
        five_minute_counts.requests as five_minute_requests,
        hourly_counts.requests as hourly_requests
    from fact_counts
    full outer join daily
        on
            fact_counts.service = daily.service
            and fact_counts.endpoint = daily.endpoint
            and fact_counts.request_date = daily.request_date
    left join five_minute_counts
        on
            daily.service = five_minute_counts.service
            and daily.endpoint = five_minute_counts.endpoint
            and daily.request_date = five_minute_counts.request_date
    left join hourly_counts
        on
            daily.service = hourly_counts.service
            and daily.endpoint = hourly_counts.endpoint
            and daily.request_date = hourly_counts.request_date

)

select * from compared
where
    fact_requests is null
    or daily_requests is null
    or five_minute_requests is null
    or hourly_requests is null
    or fact_requests <> daily_requests
    or five_minute_requests <> daily_requests
    or hourly_requests <> daily_requests
