{#- The exact continuous percentiles of `column` at each of `fractions` (a list of numbers
    in 0-1) within the group, as one array whose element i (from 1, read with
    array_element) is the percentile at fractions[i - 1]: one aggregate state per group,
    where one percentile_cont per fraction keeps a copy of the group's values for each.
    Each element equals percentile_cont(column, fraction). -#}
{% macro percentiles_cont(column, fractions) -%}
    {{ return(adapter.dispatch('percentiles_cont', 'opsmetrics')(column, fractions)) }}
{%- endmacro %}

{#- The ordered-set aggregate with an array of fractions (Postgres). -#}
{% macro default__percentiles_cont(column, fractions) -%}
    percentile_cont(
        cast(array[{{ fractions | join(', ') }}] as {{ opsmetrics.type_double() }}[])
    ) within group (order by {{ column }})
{%- endmacro %}

{% macro duckdb__percentiles_cont(column, fractions) -%}
    quantile_cont({{ column }}, [{{ fractions | join(', ') }}])
{%- endmacro %}

{#- Spark's exact percentile with an array of fractions, over doubles. -#}
{% macro spark__percentiles_cont(column, fractions) -%}
    percentile(cast({{ column }} as double), array({{ fractions | join(', ') }}))
{%- endmacro %}
