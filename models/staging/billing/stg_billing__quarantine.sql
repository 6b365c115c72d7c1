{{ opsmetrics.quarantine_union([
    ('subscriptions', 'base_billing__subscriptions'),
    ('transactions', 'base_billing__transactions'),
]) }}
