{#- Spark's Parquet tables cannot delete a key's earlier versions: there this model is
    rebuilt in full on every run (docs/warehouses.md, Spark). #}
{{
    config(
        materialized='table' if target.type == 'spark' else 'incremental',
        incremental_strategy=opsmetrics.incremental_strategy(),
        unique_key='version_key',
        on_schema_change='fail',
    )
}}

{%- set cutoff = opsmetrics.incremental_load_cutoff('_loaded_at') %}

{#- One pass over raw (typing, row rules, duplicate rank, quarantine split); an
    incremental run re-reads every version of each check with a version loaded since the
    cutoff, as base_platform__api_requests does for requests. -#}
with

{%- if cutoff %}

reloaded_keys as (

    select distinct nullif(trim(check_id), '') as record_key
    from {{ source('platform', 'health_checks') }}
    where _loaded_at >= {{ cutoff }} or _loaded_at is null

),
{%- endif %}

source as (

    select * from {{ source('platform', 'health_checks') }}
    where {{ opsmetrics.staging_window("nullif(trim(check_id), '')", cutoff) }}

),

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
            when _loaded_at is null then 'missing_loaded_at'
            when {{ opsmetrics.is_non_finite('response_time_ms') }} then 'non_finite_number'
            when checked_at is null then 'unparseable_timestamp'
            when {{ opsmetrics.is_after_load('checked_at') }} then 'future_timestamp'
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
