{{ config(opsmetrics.versions_replaced_config()) }}

{%- set cutoff = opsmetrics.incremental_load_cutoff('_loaded_at') %}

{#- One pass over raw (typing, row rules, duplicate rank, quarantine split); an
    incremental run re-reads every version of each check with a version loaded since the
    cutoff, as base_platform__api_requests does for requests. -#}
with

{{ opsmetrics.source_by_reloaded_keys(
    source('platform', 'health_checks'), 'check_id', cutoff
) }},

typed as (

    select
        nullif(trim(check_id), '') as check_id,
        lower(nullif(trim(service), '')) as service,
        response_time_ms,
        is_up,
        {{ opsmetrics.parse_timestamp_utc('checked_at') }} as checked_at,
        nullif(trim(checked_at), '') as checked_at_text,
        _loaded_at,
        nullif(trim(check_id), '') as record_key,
        {{ opsmetrics.row_as_value('source') }} as raw_row
    from source

),

validated as (

    select
        *,
        case
            when
                check_id is null or service is null or is_up is null
                or response_time_ms is null or checked_at_text is null
                then 'null_required_field'
            {{ opsmetrics.load_and_time_rules('checked_at', ['response_time_ms']) }}
            when response_time_ms < 0 then 'out_of_range_value'
            when response_time_ms > {{ var('max_plausible_latency_ms') }}
                then 'implausible_value'
        end as quarantine_reason
    from typed

),

{{ opsmetrics.judged_versions(
    'validated',
    ['check_id'],
    'health_checks',
    ['check_id', 'service', 'response_time_ms', 'is_up', 'checked_at', 'checked_at_text',
     '_loaded_at', 'record_key', 'quarantine_reason'],
) }}

select * from final
