{#- The exact continuous percentile of `column` at `fraction` (0-1) within the group:
    linear interpolation between the two nearest ranks, as numpy.percentile's default. -#}
{% macro percentile_cont(column, fraction) -%}
    {{ return(adapter.dispatch('percentile_cont', 'opsmetrics')(column, fraction)) }}
{%- endmacro %}

{% macro default__percentile_cont(column, fraction) -%}
    quantile_cont({{ column }}, {{ fraction }})
{%- endmacro %}

{% macro postgres__percentile_cont(column, fraction) -%}
    percentile_cont({{ fraction }}) within group (order by {{ column }})
{%- endmacro %}
