"""Building blocks of the raw-data generator: scales, table builders and the Parquet writer."""
