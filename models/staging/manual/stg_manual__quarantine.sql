{{ opsmetrics.quarantine_union([('manual_metrics', 'base_manual__manual_metrics')]) }}
