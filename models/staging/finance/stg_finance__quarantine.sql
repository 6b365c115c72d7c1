{{ opsmetrics.quarantine_union([('fx_rates', 'base_finance__fx_rates')]) }}
