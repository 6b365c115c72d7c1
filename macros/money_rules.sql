{#- The quarantine rules of a money amount, as `when` branches of a model's
    quarantine_reason: a currency that is not ISO 4217 or has no FX rate at all, then a
    negative `amount_column` or one worth more than var max_plausible_amount in the
    reporting currency. Reads the model's `currencies` and `fx_rates` CTEs and the
    `rate_to_reporting` column of with_fx_rate. -#}
{% macro money_rules(amount_column) -%}
when
                currency not in (select currencies.currency from currencies)
                or currency not in (select fx_rates.currency from fx_rates)
                then 'unknown_currency'
            when
                {{ amount_column }} < 0
                or {{ amount_column }} * rate_to_reporting > {{ var('max_plausible_amount') }}
                then 'invalid_amount'
{%- endmacro %}
