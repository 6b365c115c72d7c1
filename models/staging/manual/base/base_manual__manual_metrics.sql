{#- Overlaps are judged among the deduplicated rows that pass every other rule: of two
    entries of one metric whose periods overlap, the one starting later is quarantined
    (a person fixes it by correcting or deleting that entry). -#}
with

manual_rows as (

    select * from {{ source('manual', 'manual_metrics') }}

),

definitions as (

    select * from {{ ref('manual_metric_definitions') }}

),

typed as (

    select
        lower(nullif(trim(metric_name), '')) as metric_name,
        nullif(trim(unit), '') as unit,
        nullif(trim(source), '') as source,
        nullif(trim(entered_by), '') as entered_by,
        value,
        {{ opsmetrics.parse_date('period_start') }} as period_start_date,
        nullif(trim(period_start), '') as period_start_text,
        {{ opsmetrics.parse_date('period_end') }} as period_end_date,
        nullif(trim(period_end), '') as period_end_text,
        _loaded_at,
        {{ dbt.concat([
            "coalesce(lower(trim(metric_name)), '')", "'|'", "coalesce(trim(period_start), '')",
        ]) }} as record_key,
        {{ opsmetrics.row_to_json('manual_rows') }} as raw_record
    from manual_rows

),

deduplicated as (

    select
        *,
        {{ opsmetrics.duplicate_rank(
            ['metric_name', 'period_start_text'], 'manual_metrics'
        ) }}
            as duplicate_rank
    from typed

),

rules_checked as (

    select
        deduplicated.*,
        case
            when
                deduplicated.metric_name is null or deduplicated.unit is null
                or deduplicated.source is null or deduplicated.entered_by is null
                or deduplicated.value is null or deduplicated.period_start_text is null
                or deduplicated.period_end_text is null
                then 'null_required_field'
            when deduplicated._loaded_at is null then 'missing_loaded_at'
            when
                deduplicated.period_start_date is null or deduplicated.period_end_date is null
                then 'unparseable_timestamp'
            when {{ opsmetrics.is_non_finite('deduplicated.value') }} then 'non_finite_number'
            when {{ opsmetrics.is_after_load('deduplicated.period_start_date') }}
                then 'future_timestamp'
            when
                definitions.metric_name is null or deduplicated.unit <> definitions.unit
                then 'invalid_value'
            when
                deduplicated.value < 0
                or deduplicated.period_end_date < deduplicated.period_start_date
                then 'out_of_range_value'
        end as rule_failed
    from deduplicated
    left join definitions
        on deduplicated.metric_name = definitions.metric_name

),

clean_entries as (

    select * from rules_checked
    where duplicate_rank = 1 and rule_failed is null

),

overlapping_entries as (

    select distinct later.record_key
    from clean_entries as later
    inner join clean_entries as earlier
        on
            later.metric_name = earlier.metric_name
            and later.period_start_date > earlier.period_start_date
            and later.period_start_date <= earlier.period_end_date

),

validated as (

    select
        rules_checked.metric_name,
        rules_checked.unit,
        rules_checked.source,
        rules_checked.entered_by,
        rules_checked.value,
        rules_checked.period_start_date,
        rules_checked.period_start_text,
        rules_checked.period_end_date,
        rules_checked.period_end_text,
        rules_checked._loaded_at,
        rules_checked.record_key,
        rules_checked.raw_record,
        rules_checked.duplicate_rank,
        coalesce(
            rules_checked.rule_failed,
            case
                when
                    rules_checked.duplicate_rank = 1
                    and overlapping_entries.record_key is not null
                    then 'overlapping_period'
            end
        ) as quarantine_reason
    from rules_checked
    left join overlapping_entries
        on rules_checked.record_key = overlapping_entries.record_key

)

select * from validated
