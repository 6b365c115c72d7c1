{#- Join condition picking the FX rate in force on a date: the latest rate on or before
    it (stg_finance__fx_rates carries each rate's validity range). -#}
{% macro fx_rate_join(fx_alias, currency_column, date_expression) -%}
    {{ fx_alias }}.currency = {{ currency_column }}
    and {{ date_expression }} >= {{ fx_alias }}.valid_from_date
    and ({{ fx_alias }}.valid_to_date is null or {{ date_expression }} < {{ fx_alias }}.valid_to_date)
{%- endmacro %}
