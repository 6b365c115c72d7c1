{{ opsmetrics.quarantine_union([
    ('api_requests', 'base_platform__api_requests'),
    ('health_checks', 'base_platform__health_checks'),
    ('system_metrics', 'base_platform__system_metrics'),
    ('scaling_events', 'base_platform__scaling_events'),
]) }}
