{#- On an incremental run of fct_customer_mrr_daily: each customer in {{ this }} with the
    fingerprint its rows were computed from and the last day built (every customer's
    rows reach the as-of date of the last run, so its row of that day is the one read). -#}
{% macro built_customer_mrr() -%}
    select
        customer_id,
        paid_versions_fingerprint,
        mrr_date as last_built_date
    from {{ this }}
    where mrr_date = (select max(mrr_date) from {{ this }})
{%- endmacro %}
