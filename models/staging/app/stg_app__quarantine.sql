{{ opsmetrics.quarantine_union([
    ('customers', 'base_app__customers'),
    ('users', 'base_app__users'),
]) }}
