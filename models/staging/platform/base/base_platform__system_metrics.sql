{{ config(opsmetrics.versions_replaced_config()) }}

{%- set cutoff = opsmetrics.incremental_load_cutoff('_loaded_at') %}

{#- One pass over raw (typing, row rules, duplicate rank, quarantine split). The natural
    key holds the parsed sample time, so two spellings of one instant are one sample and
    the raw text alone cannot find a sample's versions. An incremental run therefore
    re-reads whole UTC days: every day holding a sample loaded since the cutoff. The raw
    scan keeps rows whose text date lies within two days of such a day (an ISO offset
    moves the UTC date by at most one), then only the rows of those very days, whose
    versions are thereby all read, plus every row loaded since the cutoff. A row without
    `_loaded_at` cannot say when it came: its day is re-read only while that row is not
    yet staged (raw's unstamped rows, as a multiset, minus the staged ones, matched on
    their raw JSON, which every unstamped row keeps as quarantined). Re-reading the day of
    every unstamped row rebuilt nearly the whole table on each run (docs/decisions.md,
    Issue 13 session 9). -#}
with

{%- if cutoff %}

unstamped as (

    select * from {{ source('platform', 'system_metrics') }}
    where _loaded_at is null

),

unstamped_not_staged as (

    select
        nullif(trim(sampled_at), '') as sampled_at_text,
        {{ opsmetrics.row_to_json(opsmetrics.row_as_value('unstamped')) }} as raw_record
    from unstamped
    except all
    select
        sampled_at_text,
        raw_record
    from {{ this }}
    where _loaded_at is null

),

reloaded_days as (

    select cast({{ opsmetrics.parse_timestamp_utc('sampled_at') }} as date) as sample_date
    from {{ source('platform', 'system_metrics') }}
    where _loaded_at >= {{ cutoff }}
    union
    select cast({{ opsmetrics.parse_timestamp_utc('sampled_at_text') }} as date)
    from unstamped_not_staged

),

reloaded_day_texts as (

    {%- for offset in range(-2, 3) %}
    select cast(cast({{ dbt.dateadd('day', offset, 'sample_date') }} as date) as {{ dbt.type_string() }})
        as day_text
    from reloaded_days
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}

),
{%- endif %}

source as (

    select * from {{ source('platform', 'system_metrics') }}
    {%- if cutoff %}
    where
        _loaded_at >= {{ cutoff }}
        or _loaded_at is null
        or substring(trim(sampled_at), 1, 10) in (
            select reloaded_day_texts.day_text from reloaded_day_texts
        )
    {%- endif %}

),

typed as (

    select
        lower(nullif(trim(host), '')) as host,
        lower(nullif(trim(service), '')) as service,
        lower(nullif(trim(metric_name), '')) as metric_name,
        value as metric_value,
        {{ opsmetrics.parse_timestamp_utc('sampled_at') }} as sampled_at,
        nullif(trim(sampled_at), '') as sampled_at_text,
        _loaded_at,
        {{ dbt.concat([
            "coalesce(lower(trim(host)), '')", "'|'", "coalesce(lower(trim(metric_name)), '')",
            "'|'", "coalesce(trim(sampled_at), '')",
        ]) }} as record_key,
        {{ opsmetrics.row_as_value('source') }} as raw_row
    from source

),

{%- if cutoff %}

{# Rows of a neighbouring day only matched the text prefilter. -#}
typed_in_window as (

    select * from typed
    where
        host is null or metric_name is null or sampled_at is null
        or cast(sampled_at as date) in (select reloaded_days.sample_date from reloaded_days)

),
{%- endif %}

validated as (

    select
        *,
        case
            when
                host is null or service is null or metric_name is null
                or metric_value is null or sampled_at_text is null
                then 'null_required_field'
            {{ opsmetrics.load_and_time_rules('sampled_at', ['metric_value']) }}
            when
                metric_name not in (
                    'cpu_utilization', 'memory_utilization', 'queue_depth', 'active_connections'
                )
                then 'invalid_value'
            when
                metric_value < 0
                or (metric_name like '%utilization' and metric_value > 100)
                then 'out_of_range_value'
            when
                metric_name = 'queue_depth'
                and metric_value > {{ var('max_plausible_queue_depth') }}
                then 'implausible_value'
        end as quarantine_reason
    from {{ 'typed_in_window' if cutoff else 'typed' }}

),

{{ opsmetrics.judged_versions(
    'validated',
    ['host', 'metric_name', 'sampled_at'],
    'system_metrics',
    ['host', 'service', 'metric_name', 'metric_value', 'sampled_at', 'sampled_at_text',
     '_loaded_at', 'record_key', 'quarantine_reason'],
) }}

select * from final
