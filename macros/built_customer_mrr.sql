{#- On an incremental run of fct_customer_mrr_daily: each customer in {{ this }} with the
    fingerprint its rows were computed from and the last day built (every customer's
    rows reach the as-of date of the last run, so its row of that day is the one read). -#}
{% macro built_customer_mrr() -%}
    select
        built.customer_id,
        built.paid_versions_fingerprint,
        built.mrr_date as last_built_date
    from {{ this }} as built
    where built.mrr_date = (select max(last_built.mrr_date) from {{ this }} as last_built)
{%- endmacro %}
