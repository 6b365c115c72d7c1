{#- The paid subscription versions (MRR > 0) fct_customer_mrr_daily is computed from,
    each with its customer's `paid_versions_fingerprint`: the md5 of the revenue
    calendar's first day and of every paid version of the customer (subscription, from,
    to, MRR in micro-dollars; the subscription id length-prefixed, so the text is
    injective), sorted. A customer's rows are a function of exactly these and of the
    as-of date: an equal fingerprint means equal rows up to the last day built. -#}
{% macro fingerprinted_paid_versions() -%}
{%- set paid_versions -%}
    select
        customer_id,
        subscription_id,
        mrr_amount,
        valid_from,
        valid_to
    from {{ ref('int_subscription_versions_priced') }}
    where mrr_amount > 0
{%- endset -%}
{%- set version_text = dbt.concat([
    'cast(' ~ dbt.length('versions.subscription_id') ~ ' as ' ~ dbt.type_string() ~ ')',
    "':'",
    'versions.subscription_id',
    "'|'",
    'cast(versions.valid_from as ' ~ dbt.type_string() ~ ')',
    "'|'",
    "coalesce(cast(versions.valid_to as " ~ dbt.type_string() ~ "), '')",
    "'|'",
    'cast(cast(versions.mrr_amount * 1000000 as ' ~ dbt.type_bigint() ~ ') as '
        ~ dbt.type_string() ~ ')',
]) -%}
    select
        paid_versions.customer_id,
        paid_versions.subscription_id,
        paid_versions.mrr_amount,
        paid_versions.valid_from,
        paid_versions.valid_to,
        fingerprints.paid_versions_fingerprint
    from ({{ paid_versions }}) as paid_versions
    inner join (
        select
            versions.customer_id,
            {{ dbt.hash(dbt.concat([
                'cast(calendar.first_date as ' ~ dbt.type_string() ~ ')',
                "';'",
                opsmetrics.sorted_string_agg(version_text, "';'"),
            ])) }} as paid_versions_fingerprint
        from ({{ paid_versions }}) as versions
        cross join (
            select min(calendar_date) as first_date
            from {{ ref('int_revenue_days_spined') }}
        ) as calendar
        group by versions.customer_id, calendar.first_date
    ) as fingerprints
        on paid_versions.customer_id = fingerprints.customer_id
{%- endmacro %}
