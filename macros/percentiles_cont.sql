{#- The exact continuous percentiles of `column` at each of `fractions` (a list of numbers
    in 0-1) within the group, as one array whose element i (from 1, read with
    array_element) is the percentile at fractions[i - 1]: one ordered-set aggregate per
    group (on DuckDB, values ranked by ranked_for_percentiles), where one percentile_cont
    per fraction keeps a copy of the group's values for each.
    Each element equals percentile_cont(column, fraction) (on DuckDB, to within a few units
    in the last place: see duckdb__percentiles_cont). -#}
{% macro percentiles_cont(column, fractions) -%}
    {{ return(adapter.dispatch('percentiles_cont', 'opsmetrics')(column, fractions)) }}
{%- endmacro %}

{#- The ordered-set aggregate with an array of fractions (Postgres). -#}
{% macro default__percentiles_cont(column, fractions) -%}
    percentile_cont(
        cast(array[{{ fractions | join(', ') }}] as {{ opsmetrics.type_double() }}[])
    ) within group (order by {{ column }})
{%- endmacro %}

{#- DuckDB: quantile_cont's interpolation (position (n - 1) * fraction, between the values
    ranked at its floor and its ceiling) from the rank columns that
    ranked_for_percentiles adds to the input; each element matches quantile_cont to
    within a few units in the last place (docs/decisions.md, Lead session 13). -#}
{% macro duckdb__percentiles_cont(column, fractions) -%}
    [
    {%- for fraction in fractions %}
        {%- set row_position = '(percentile_count - 1) * cast(' ~ fraction ~ ' as double)' %}
        {%- set position = '(count(' ~ column ~ ') - 1) * cast(' ~ fraction ~ ' as double)' %}
        {%- set at_rank = {} %}
        {%- for rounding in ['floor', 'ceil'] %}
            {%- set value -%}
            max(
                case
                    when percentile_rank = {{ rounding }}({{ row_position }}) + 1 then {{ column }}
                end
            )
            {%- endset %}
            {%- do at_rank.update({rounding: value}) %}
        {%- endfor %}
        {{ at_rank.floor }}
        + ({{ at_rank.ceil }} - {{ at_rank.floor }})
        * ({{ position }} - floor({{ position }})){{ ',' if not loop.last }}
    {%- endfor %}
    ]
{%- endmacro %}

{#- Spark's exact percentile with an array of fractions, over doubles. -#}
{% macro spark__percentiles_cont(column, fractions) -%}
    percentile(cast({{ column }} as double), array({{ fractions | join(', ') }}))
{%- endmacro %}
