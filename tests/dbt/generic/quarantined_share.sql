{#- Warns when more than warn_pct percent of a base model's kept rows (duplicate_rank 1)
    are quarantined, errors above error_pct; judged over the whole table and for each
    delivery (UTC day of _loaded_at), each scope only with at least min_rows kept rows.
    Thresholds default to the vars quarantine_warn_pct, quarantine_error_pct and
    quarantine_min_rows; a table can pass its own. The test's result is the
    worst breach (1 = above warn, 2 = above error), not a row count: each returned row
    is one scope (overall or a delivery) above warn_pct. Rows quarantined only because
    their parent was (parent_quarantined) count at the parent's table, not here: a few
    bad customers would otherwise push every child table over the threshold. -#}
{% test quarantined_share(
    model,
    warn_pct=var('quarantine_warn_pct'),
    error_pct=var('quarantine_error_pct'),
    min_rows=var('quarantine_min_rows')
) %}

{{ config(fail_calc='coalesce(max(breach_level), 0)', warn_if='>= 1', error_if='>= 2') }}

with

kept as (

    select
        cast(_loaded_at as date) as delivery_date,
        case
            when quarantine_reason <> 'parent_quarantined' then quarantine_reason
        end as quarantine_reason
    from {{ model }}
    where duplicate_rank = 1

),

scopes as (

    select
        'overall' as scope,
        cast(null as date) as delivery_date,
        count(*) as kept_rows,
        count(quarantine_reason) as quarantined_rows
    from kept
    having count(*) >= {{ min_rows }}
    union all
    select
        'delivery' as scope,
        delivery_date,
        count(*) as kept_rows,
        count(quarantine_reason) as quarantined_rows
    from kept
    {#- Rows without _loaded_at belong to no delivery; they count overall. #}
    where delivery_date is not null
    group by delivery_date
    having count(*) >= {{ min_rows }}

),

shares as (

    select
        *,
        cast(quarantined_rows as {{ opsmetrics.type_double() }}) * 100 / kept_rows
            as quarantined_pct
    from scopes
    where kept_rows > 0

)

select
    *,
    case when quarantined_pct > {{ error_pct }} then 2 else 1 end as breach_level
from shares
where quarantined_pct > {{ warn_pct }}

{% endtest %}
