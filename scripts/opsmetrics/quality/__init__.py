"""Data quality: Great Expectations suites over the warehouse, run by one checkpoint."""

from opsmetrics.quality.run import QualityResult, print_report, run_quality

__all__ = ["QualityResult", "print_report", "run_quality"]
