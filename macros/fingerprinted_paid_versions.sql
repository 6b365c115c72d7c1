{#- The paid subscription versions (MRR > 0) fct_customer_mrr_daily is computed from,
    each with its customer's `paid_versions_fingerprint`: the md5 of the revenue
    calendar's first day and of every paid version of the customer (subscription, from,
    to, MRR in micro-dollars; the subscription id length-prefixed, so the text is
    injective), sorted. A customer's rows are a function of exactly these and of the
    as-of date: an equal fingerprint means equal rows up to the last day built. The CTE
    names are the macro's own (Spark refuses a nested CTE named as an outer one). -#}
{% macro fingerprinted_paid_versions() -%}
{%- set version_text = dbt.concat([
    'cast(' ~ dbt.length('priced_paid_versions.subscription_id') ~ ' as '
        ~ dbt.type_string() ~ ')',
    "':'",
    'priced_paid_versions.subscription_id',
    "'|'",
    'cast(priced_paid_versions.valid_from as ' ~ dbt.type_string() ~ ')',
    "'|'",
    "coalesce(cast(priced_paid_versions.valid_to as " ~ dbt.type_string() ~ "), '')",
    "'|'",
    'cast(cast(priced_paid_versions.mrr_amount * 1000000 as ' ~ dbt.type_bigint() ~ ') as '
        ~ dbt.type_string() ~ ')',
]) -%}
    with

    priced_paid_versions as (

        select
            customer_id,
            subscription_id,
            mrr_amount,
            valid_from,
            valid_to
        from {{ ref('int_subscription_versions_priced') }}
        where mrr_amount > 0

    ),

    revenue_calendar as (

        select min(calendar_date) as first_date
        from {{ ref('int_revenue_days_spined') }}

    ),

    paid_version_fingerprints as (

        select
            priced_paid_versions.customer_id,
            {{ dbt.hash(dbt.concat([
                'cast(revenue_calendar.first_date as ' ~ dbt.type_string() ~ ')',
                "';'",
                opsmetrics.sorted_string_agg(version_text, "';'"),
            ])) }} as paid_versions_fingerprint
        from priced_paid_versions
        cross join revenue_calendar
        group by priced_paid_versions.customer_id, revenue_calendar.first_date

    )

    select
        priced_paid_versions.customer_id,
        priced_paid_versions.subscription_id,
        priced_paid_versions.mrr_amount,
        priced_paid_versions.valid_from,
        priced_paid_versions.valid_to,
        paid_version_fingerprints.paid_versions_fingerprint
    from priced_paid_versions
    inner join paid_version_fingerprints
        on priced_paid_versions.customer_id = paid_version_fingerprints.customer_id
{%- endmacro %}
