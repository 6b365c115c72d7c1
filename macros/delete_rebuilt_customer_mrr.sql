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
                select built.customer_id
                from ({{ opsmetrics.built_customer_mrr() }}) as built
                left join (
                    select distinct
                        versions.customer_id,
                        versions.paid_versions_fingerprint
                    from ({{ opsmetrics.fingerprinted_paid_versions() }}) as versions
                ) as current_versions
                    on
                        built.customer_id = current_versions.customer_id
                        and built.paid_versions_fingerprint
                        = current_versions.paid_versions_fingerprint
                where current_versions.customer_id is null
            )
    {%- endif -%}
{%- endmacro %}
