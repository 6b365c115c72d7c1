{#- Every raw table with the staging models that account for its rows: the one place
    that maps raw tables to base, staged and quarantine models. -#}
{% macro staging_tables() -%}
    {{ return([
        {'source': 'app', 'table': 'customers', 'staged': 'stg_app__customers'},
        {'source': 'app', 'table': 'users', 'staged': 'stg_app__users'},
        {'source': 'product', 'table': 'events', 'staged': 'stg_product__events'},
        {'source': 'surveys', 'table': 'survey_responses', 'staged': 'stg_surveys__survey_responses'},
        {'source': 'billing', 'table': 'subscriptions', 'staged': 'stg_billing__subscriptions'},
        {'source': 'billing', 'table': 'transactions', 'staged': 'stg_billing__transactions'},
        {'source': 'finance', 'table': 'fx_rates', 'staged': 'stg_finance__fx_rates',
         'staged_filter': "currency <> 'USD' or _loaded_at is not null"},
        {'source': 'marketing', 'table': 'acquisition_costs', 'staged': 'stg_marketing__acquisition_costs'},
        {'source': 'platform', 'table': 'api_requests', 'staged': 'stg_platform__api_requests'},
        {'source': 'platform', 'table': 'health_checks', 'staged': 'stg_platform__health_checks'},
        {'source': 'platform', 'table': 'system_metrics', 'staged': 'stg_platform__system_metrics'},
        {'source': 'platform', 'table': 'scaling_events', 'staged': 'stg_platform__scaling_events'},
        {'source': 'manual', 'table': 'manual_metrics', 'staged': 'stg_manual__manual_metrics'},
    ]) }}
{%- endmacro %}
