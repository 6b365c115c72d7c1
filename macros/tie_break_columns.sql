{#- The columns of a base model (names after typing) that together hold a whole raw row
    of `raw_table`: duplicate_rank orders copies loaded at the same instant by them. Text
    times are compared as loaded (trimmed), not parsed, so two spellings of an instant
    are told apart. -#}
{% macro tie_break_columns(raw_table) -%}
    {%- set columns = {
        'customers': ['email_hash', 'company_name', 'country_code', 'segment',
                      'acquisition_channel', 'signed_up_at_text'],
        'users': ['customer_id', 'email_hash', 'created_at_text'],
        'subscriptions': ['customer_id', 'plan_id', 'status', 'billing_interval', 'currency',
                          'quantity', 'unit_amount', 'discount_percent', 'valid_from_text'],
        'transactions': ['customer_id', 'subscription_id', 'transaction_type', 'status',
                         'currency', 'amount', 'created_at_text'],
        'fx_rates': ['rate_to_usd', 'rate_date_text'],
        'acquisition_costs': ['currency', 'amount', 'cost_date_text'],
        'events': ['anonymous_id', 'user_id', 'event_name', 'properties', 'occurred_at_text',
                   'received_at_text'],
        'survey_responses': ['survey_type', 'customer_id', 'user_id', 'score', 'has_comment',
                             'comment_length', 'submitted_at_text'],
        'api_requests': ['service', 'endpoint', 'http_method', 'customer_id', 'status_code',
                         'response_time_ms', 'requested_at_text'],
        'health_checks': ['service', 'response_time_ms', 'is_up', 'checked_at_text'],
        'system_metrics': ['service', 'metric_value', 'sampled_at_text'],
        'scaling_events': ['service', 'direction', 'instances_before', 'instances_after',
                           'triggered_at_text', 'capacity_ready_at_text'],
        'manual_metrics': ['unit', 'source', 'entered_by', 'value', 'period_end_text'],
    } -%}
    {%- if raw_table not in columns -%}
        {{ exceptions.raise_compiler_error("tie_break_columns: unknown raw table " ~ raw_table) }}
    {%- endif -%}
    {{ return(columns[raw_table]) }}
{%- endmacro %}
