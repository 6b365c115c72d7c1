"""A process that ran dbt on Spark in-process exits without DuckDB's nanobind bindings
reporting leaks ("nanobind: leaked ... instances!").

The report came when dbt-duckdb was imported for the first time after an in-process dbt
run on Spark (`run_dbt` imported it late, to release DuckDB's database): an
interpreter-shutdown ordering effect, not an open connection (docs/decisions.md, Issue 15
session 8). `opsmetrics.dbt_invoke` now imports it up front. Skipped unless
OPSMETRICS_TEST_SPARK=1 (`make test-spark`): it starts a JVM of its own.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from opsmetrics import PROJECT_DIR

pytestmark = pytest.mark.spark

# One seed on a local Spark, then a late dbt-duckdb import as a second command would do.
SCRIPT = """
from opsmetrics.dbt_invoke import release_duckdb, run_dbt

run_dbt(["seed", "--select", "channels"], target="spark")
release_duckdb()
print("seeded")
"""


def test_a_spark_dbt_run_exits_without_nanobind_leak_reports(tmp_path: Path) -> None:
    if os.environ.get("OPSMETRICS_TEST_SPARK") != "1":
        pytest.skip("Spark test: run make test-spark")
    environment = {
        **os.environ,
        "OPSMETRICS_SPARK_DIR": str(tmp_path / "spark"),
        # Its own small local Spark, even under make spark-cluster-demo.
        "OPSMETRICS_SPARK_MASTER": "local[1]",
        "OPSMETRICS_SPARK_DRIVER_MEMORY": "1g",
    }
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=PROJECT_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "seeded" in result.stdout
    assert "nanobind" not in result.stderr, result.stderr[-2000:]
