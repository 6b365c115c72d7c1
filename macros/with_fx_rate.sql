{#- The CTE `with_fx_rate` of a staging model holding money: the rows of `relation`
    with `rate_to_reporting`, the rate of their `currency` in force on `date_expression`
    (the latest rate on or before it; stg_finance__fx_rates carries each rate's validity
    range), null where there is none. Reads the model's `fx_rates` CTE. -#}
{% macro with_fx_rate(relation, date_expression) -%}
with_fx_rate as (

    select
        {{ relation }}.*,
        fx_rates.rate_to_reporting
    from {{ relation }}
    left join fx_rates
        on
            {{ relation }}.currency = fx_rates.currency
            and {{ date_expression }} >= fx_rates.valid_from_date
            and (fx_rates.valid_to_date is null or {{ date_expression }} < fx_rates.valid_to_date)

)
{%- endmacro %}
