{#- Fails for every row whose KPI column lies outside its band: beyond the critical (or,
    with level='warning', the warning) threshold of `metric` in the KPI registry (the
    metric's meta: a lower bound when higher is better, an upper bound when lower is
    better), or outside explicit `lower` / `upper` bounds. Nulls pass. -#}
{% test kpi_within_band(
    model, column_name, metric=none, level='critical', lower=none, upper=none
) %}

{%- set low = lower -%}
{%- set high = upper -%}
{%- if metric is not none and execute -%}
    {%- set found = graph.metrics.values() | selectattr('name', 'equalto', metric) | list -%}
    {%- if found | length == 0 -%}
        {{ exceptions.raise_compiler_error(
            "kpi_within_band: no metric named '" ~ metric ~ "' in the semantic layer") }}
    {%- endif -%}
    {%- set meta = found[0].config.meta or found[0].meta -%}
    {%- if level not in ('critical', 'warning') or (level ~ '_threshold') not in meta -%}
        {{ exceptions.raise_compiler_error(
            "kpi_within_band: " ~ metric ~ " has no " ~ level ~ " threshold in its meta") }}
    {%- endif -%}
    {%- set bound = meta[level ~ '_threshold'] -%}
    {%- if meta.direction == 'higher_is_better' -%}
        {%- set low = bound if low is none else [low, bound] | max -%}
    {%- else -%}
        {%- set high = bound if high is none else [high, bound] | min -%}
    {%- endif -%}
{%- endif %}

select *
from {{ model }}
where
    {{ column_name }} is not null
    and not (
        true
        {%- if low is not none %} and {{ column_name }} >= {{ low }}{% endif %}
        {%- if high is not none %} and {{ column_name }} <= {{ high }}{% endif %}
    )

{% endtest %}
