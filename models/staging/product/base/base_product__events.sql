{{ config(opsmetrics.versions_replaced_config()) }}

{%- set cutoff = opsmetrics.incremental_load_cutoff('_loaded_at') %}
{%- set kept_foreign_key_rows -%}
    select record_key from {{ this }}
    where
        duplicate_rank = 1
        and quarantine_reason in ('orphan_foreign_key', 'parent_quarantined')
{%- endset %}

{#- One pass over raw (typing, row rules, duplicate rank, quarantine split); an
    incremental run re-reads every version of each event with a version loaded since the
    cutoff, as base_platform__api_requests does for requests, and re-judges every kept
    event quarantined for its user: the user may have arrived (or become valid) since. -#}
with

{{ opsmetrics.source_by_reloaded_keys(
    source('product', 'events'), 'event_id', cutoff,
    also_reloaded=kept_foreign_key_rows,
) }},

users as (

    select * from {{ ref('stg_app__users') }}

),

users_raw as (

    select * from {{ ref('base_app__users') }}

),

typed as (

    select
        nullif(trim(event_id), '') as event_id,
        nullif(trim(anonymous_id), '') as anonymous_id,
        nullif(trim(user_id), '') as user_id,
        lower(nullif(trim(event_name), '')) as event_name,
        properties,
        {{ opsmetrics.parse_timestamp_utc('occurred_at') }} as occurred_at,
        {{ opsmetrics.parse_timestamp_utc('received_at') }} as received_at,
        nullif(trim(occurred_at), '') as occurred_at_text,
        nullif(trim(received_at), '') as received_at_text,
        _loaded_at,
        nullif(trim(event_id), '') as record_key,
        {{ opsmetrics.row_as_value('source') }} as raw_row
    from source

),

validated as (

    select
        *,
        case
            when
                event_id is null or anonymous_id is null or event_name is null
                or properties is null or occurred_at_text is null or received_at_text is null
                then 'null_required_field'
            when _loaded_at is null then 'missing_loaded_at'
            when occurred_at is null or received_at is null then 'unparseable_timestamp'
            when {{ opsmetrics.is_after_load('occurred_at') }} then 'future_timestamp'
            when not {{ opsmetrics.is_valid_json('properties') }} then 'malformed_json'
            when
                user_id is not null
                and user_id not in (select users.user_id from users)
                then {{ opsmetrics.foreign_key_reason(
                    'user_id', 'users_raw', 'user_id'
                ) }}
        end as quarantine_reason
    from typed

),

{{ opsmetrics.judged_versions(
    'validated',
    ['event_id'],
    'events',
    ['event_id', 'anonymous_id', 'user_id', 'event_name', 'properties', 'occurred_at',
     'received_at', 'occurred_at_text', 'received_at_text', '_loaded_at', 'record_key',
     'quarantine_reason'],
) }}

select * from final
