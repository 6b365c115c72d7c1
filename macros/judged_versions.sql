{#- The last two CTEs of a one-pass staging model, over `validated` (typed columns, the
    raw row as `raw_row`, `quarantine_reason`): `versions_recorded` keeps `columns` and
    builds the raw row's JSON (`raw_record`) only for rows that break a rule, and `final`
    adds duplicate_rank and `version_key`, the key an incremental run replaces rows by:
    the natural key (`key_columns`, joined by '|'), or for a row with a null key part
    (never a duplicate; always quarantined, so it has a raw_record) its raw row and load
    time. -#}
{% macro judged_versions(validated, key_columns, raw_table, columns) -%}
{%- set key_parts = [] -%}
{%- for column in key_columns -%}
    {%- if not loop.first %}{% do key_parts.append("'|'") %}{% endif -%}
    {%- do key_parts.append('cast(' ~ column ~ ' as ' ~ dbt.type_string() ~ ')') -%}
{%- endfor -%}
versions_recorded as (

    select
        {{ columns | join(',\n        ') }},
        case
            when quarantine_reason is not null then {{ opsmetrics.row_to_json('raw_row') }}
        end as raw_record
    from {{ validated }}

),

final as (

    select
        *,
        {{ opsmetrics.duplicate_rank(key_columns, raw_table) }} as duplicate_rank,
        case
            when {{ key_columns | join(' is null or ') }} is null
                then {{ dbt.hash(dbt.concat([
                    'raw_record', "coalesce(cast(_loaded_at as " ~ dbt.type_string() ~ "), '')"
                ])) }}
            else {{ dbt.concat(key_parts) }}
        end as version_key
    from versions_recorded

)
{%- endmacro %}
