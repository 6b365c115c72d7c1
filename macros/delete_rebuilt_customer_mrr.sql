{#- Pre-hook of fct_customer_mrr_daily on an incremental run: delete every row of a
    customer whose paid versions changed since its rows were built (its fingerprint
    differs, or it has no paid version now), and every row after the as-of date (when
    that moved back). The model then builds those customers whole, and appends the new
    days of the others. -#}
{% macro delete_rebuilt_customer_mrr() -%}
    {%- if is_incremental() -%}
        delete from {{ this }}
        where
            mrr_date > (select max(calendar_date) from {{ ref('int_revenue_days_spined') }})
            or customer_id in (
                with

                built_customers as (

                    {{ opsmetrics.built_customer_mrr() }}

                ),

                current_versions as (

                    {{ opsmetrics.fingerprinted_paid_versions() }}

                )

                select built_customers.customer_id
                from built_customers
                where not exists (
                    select 1
                    from current_versions
                    where
                        current_versions.customer_id = built_customers.customer_id
                        and current_versions.paid_versions_fingerprint
                        = built_customers.paid_versions_fingerprint
                )
            )
    {%- endif -%}
{%- endmacro %}
