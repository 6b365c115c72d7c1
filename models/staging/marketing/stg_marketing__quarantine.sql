{{ opsmetrics.quarantine_union([('acquisition_costs', 'base_marketing__acquisition_costs')]) }}
