"""Incremental operations marts equal a full rebuild after a new day and late rows land.

Data are split by `_loaded_at` at a cutoff: what was loaded before it is built first;
the rest (one more day, plus rows of earlier days that arrived late and re-sent copies)
is loaded and built incrementally. Every operations mart must then equal, row for row,
a `--full-refresh` build of all the data in a separate warehouse.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from conftest import END_DATE, DataSet, use_warehouse

from opsmetrics.bench import split_by_loaded_at
from opsmetrics.dbt_invoke import run_dbt
from opsmetrics.load import load_duckdb

CUTOFF = datetime(END_DATE.year, END_DATE.month, END_DATE.day)
OPERATIONS = ["models/marts/operations", "models/intermediate/operations"]
MARTS = {
    "marts.fct_api_requests": ["request_id"],
    "marts.fct_api_requests_5min": ["service", "endpoint", "bucket_start"],
    "marts.fct_api_requests_hourly": ["service", "endpoint", "bucket_start"],
    "marts.fct_api_requests_daily": ["service", "endpoint", "request_date"],
    "marts.fct_slo_daily": ["service", "slo_date"],
    "marts.fct_slo_rolling_28d": ["service", "slo_date"],
    "marts.fct_service_uptime_daily": ["service", "check_date"],
    "marts.fct_service_uptime_monthly": ["service", "check_month"],
    "marts.fct_resource_utilization_hourly": ["service", "host", "hour_start"],
    "intermediate.int_outages_identified": ["service", "outage_number"],
}


@dataclass
class Builds:
    incremental: Path
    full: Path
    incremental_sql: str


def build_operations(args: list[str]) -> str:
    """dbt `args` over the operations models; returns the SQL compiled for fct_api_requests."""
    result = run_dbt(args)
    return next(
        r.node.compiled_code for r in result.result.results if r.node.name == "fct_api_requests"
    )


@pytest.fixture(scope="module")
def builds(dirty: DataSet, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Builds]:
    previous = os.environ.get("OPSMETRICS_DUCKDB_PATH")
    root = tmp_path_factory.mktemp("operations_incremental")
    before, after = root / "before", root / "after"
    split_by_loaded_at(dirty.out, before, after, CUTOFF)
    with_parents = ["--select", *(f"+{path}" for path in OPERATIONS)]

    incremental = root / "incremental.duckdb"
    use_warehouse(incremental)
    load_duckdb(before)
    run_dbt(["seed", "--select", "slo_targets"])
    build_operations(["run", *with_parents])
    load_duckdb(after)
    incremental_sql = build_operations(
        ["build", "--select", *OPERATIONS, "--exclude", "test_type:unit"]
    )

    full = root / "full.duckdb"
    use_warehouse(full)
    load_duckdb(dirty.out)
    run_dbt(["seed", "--select", "slo_targets"])
    build_operations(["run", "--full-refresh", *with_parents])

    yield Builds(incremental, full, incremental_sql)
    if previous is None:
        os.environ.pop("OPSMETRICS_DUCKDB_PATH", None)
    else:
        os.environ["OPSMETRICS_DUCKDB_PATH"] = previous


def read(path: Path, table: str, keys: list[str]) -> pd.DataFrame:
    with duckdb.connect(str(path)) as connection:
        frame = connection.execute(f"select * from {table}").df()
    return frame.sort_values(keys).reset_index(drop=True)


def test_the_second_load_holds_a_new_day_and_late_rows_for_earlier_days(builds):
    with duckdb.connect(str(builds.full)) as connection:
        new_day, late = connection.execute(
            "select count(*) filter (where request_date = ?), "
            "count(*) filter (where request_date < ?) "
            "from marts.fct_api_requests where _loaded_at >= ?",
            [CUTOFF.date(), CUTOFF.date(), CUTOFF],
        ).fetchone()
    assert new_day > 0
    assert late > 0


def test_the_second_build_ran_incrementally(builds):
    assert "_loaded_at >= cast('" in builds.incremental_sql


@pytest.mark.parametrize("table", MARTS)
def test_incremental_build_equals_full_refresh_row_for_row(builds, table):
    keys = MARTS[table]
    incremental = read(builds.incremental, table, keys)
    full = read(builds.full, table, keys)
    assert len(incremental) == len(full)
    # Sums may be added in another order on the two paths: floats agree to 1e-12.
    pd.testing.assert_frame_equal(incremental, full, check_exact=False, rtol=1e-12)
