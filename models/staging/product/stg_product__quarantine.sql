{{ opsmetrics.quarantine_union([('events', 'base_product__events')]) }}
