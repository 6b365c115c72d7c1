{#- An incident is an outage of int_outages_identified (macro identify_outages): a run of
    consecutive down health checks of one service. It starts at the first down check, which
    is also when it is detected, and ends at the first check that finds the service up
    again. The onset lies somewhere after the last good check before the run: the time
    from that check to the first down one is the detection delay (an upper bound). -#}
with

outages as (select * from {{ ref('int_outages_identified') }}),

checks as (select * from {{ ref('stg_platform__health_checks') }}),

last_good_checks as (

    select
        outages.service,
        outages.outage_number,
        max(checks.checked_at) as last_up_checked_at
    from outages
    inner join checks
        on
            outages.service = checks.service
            and outages.started_at > checks.checked_at
    group by outages.service, outages.outage_number

),

incidents_timed as (

    select
        outages.service,
        outages.outage_number,
        outages.down_checks,
        outages.duration_minutes,
        cast(
            {{ opsmetrics.milliseconds_between(
                'last_good_checks.last_up_checked_at', 'outages.started_at'
            ) }}
            as {{ opsmetrics.type_double() }}
        ) / 60000 as detection_delay_minutes,
        outages.started_on_date,
        cast({{ dbt.date_trunc('month', 'outages.started_on_date') }} as date)
            as started_month_date,
        last_good_checks.last_up_checked_at,
        outages.started_at,
        outages.ended_at
    from outages
    left join last_good_checks
        on
            outages.service = last_good_checks.service
            and outages.outage_number = last_good_checks.outage_number

),

final as (

    select
        {{ dbt.concat([
            'service', "'#'", 'cast(outage_number as ' ~ dbt.type_string() ~ ')'
        ]) }} as incident_id,
        service,
        down_checks,
        duration_minutes,
        detection_delay_minutes,
        duration_minutes * 100 / (
            1440 * {{ dbt.datediff(
                'started_month_date',
                dbt.dateadd('month', 1, 'started_month_date'),
                'day',
            ) }}
        ) as availability_lost_pct,
        started_on_date as started_date,
        last_up_checked_at,
        started_at,
        ended_at
    from incidents_timed

)

select * from final
