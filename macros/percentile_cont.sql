{#- The exact continuous percentile of `column` at `fraction` (0-1) within the group:
    linear interpolation between the two nearest ranks, as numpy.percentile's default. -#}
{% macro percentile_cont(column, fraction) -%}
    {{ return(adapter.dispatch('percentile_cont', 'opsmetrics')(column, fraction)) }}
{%- endmacro %}

{#- The SQL:2003 ordered-set aggregate (Postgres, Spark 4). -#}
{% macro default__percentile_cont(column, fraction) -%}
    percentile_cont({{ fraction }}) within group (order by {{ column }})
{%- endmacro %}

{% macro duckdb__percentile_cont(column, fraction) -%}
    quantile_cont({{ column }}, {{ fraction }})
{%- endmacro %}

{#- Spark's exact percentile (linear interpolation), over doubles. -#}
{% macro spark__percentile_cont(column, fraction) -%}
    percentile(cast({{ column }} as double), {{ fraction }})
{%- endmacro %}
