{#- duplicate_rank for master data (customers, users), over rows already judged
    (`quarantine_reason` set): the latest copy ranks 1 as usual; when it broke a rule,
    the latest valid older copy ranks 1 as well, so staging keeps that one while the
    bad latest copy is quarantined. Every other copy is a removed duplicate (2+), so
    raw = staged + quarantined + removed duplicates still holds. -#}
{% macro fallback_duplicate_rank(key_columns, raw_table) -%}
    {%- set keys = key_columns | join(', ') -%}
    {%- set order -%}
        _loaded_at desc nulls last, {{ opsmetrics.tie_break_columns(raw_table) | join(', ') }}
    {%- endset -%}
    case
        when {{ key_columns | join(' is null or ') }} is null then 1
        when row_number() over (partition by {{ keys }} order by {{ order }}) = 1 then 1
        when
            quarantine_reason is null
            and row_number() over (
                partition by {{ keys }}, quarantine_reason is null order by {{ order }}
            ) = 1
            and first_value(quarantine_reason) over (
                partition by {{ keys }} order by {{ order }}
            ) is not null
            then 1
        else row_number() over (partition by {{ keys }} order by {{ order }})
    end
{%- endmacro %}
