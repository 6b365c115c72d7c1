"""Incremental operations marts equal a full rebuild after a new day and late rows land.

Data are split by `_loaded_at` at a cutoff: what was loaded before it is built first;
the rest (one more day, plus rows of earlier days that arrived late and re-sent copies)
is loaded and built incrementally. Every operations mart must then equal, row for row,
a `--full-refresh` build of all the data in a separate warehouse. The generator delivers
health checks and host metrics on time, so the test data are altered: three hours of them
from two days before the cutoff arrive two days late (in the second load), and one service
is down from 6.5 days before the cutoff until 3 hours after it, so an outage started
before the first day the uptime marts rebuild runs on into the new load.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
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
INCREMENTAL_MODELS = [
    "fct_api_requests",
    "fct_api_requests_5min",
    "fct_api_requests_hourly",
    "fct_api_requests_daily",
    "fct_slo_daily",
    "fct_slo_rolling_28d",
    "fct_service_uptime_daily",
    "fct_resource_utilization_hourly",
]
OUTAGE_SERVICE = "api-gateway"
OUTAGE_START = CUTOFF - timedelta(days=6, hours=12)
OUTAGE_END = CUTOFF + timedelta(hours=3)
LATE_START = CUTOFF - timedelta(days=2)
LATE_END = LATE_START + timedelta(hours=3)
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
    incremental_sql: dict[str, str]


def build_operations(args: list[str]) -> dict[str, str]:
    """dbt `args` over the operations models; returns the SQL compiled for each model."""
    result = run_dbt(args)
    return {
        r.node.name: r.node.compiled_code
        for r in result.result.results
        if r.node.resource_type == "model"
    }


def with_late_rows_and_long_outage(source: Path, out: Path) -> None:
    """Copy the raw tables of `source` to `out`: health checks and host metrics loaded
    between LATE_START and LATE_END are loaded two days later, and every health check of
    OUTAGE_SERVICE loaded between OUTAGE_START and OUTAGE_END is down."""
    out.mkdir(parents=True, exist_ok=True)
    late = (
        f"case when _loaded_at >= '{LATE_START}' and _loaded_at < '{LATE_END}' "
        "then _loaded_at + interval 2 day else _loaded_at end as _loaded_at"
    )
    down = (
        f"case when service = '{OUTAGE_SERVICE}' and _loaded_at >= '{OUTAGE_START}' "
        f"and _loaded_at < '{OUTAGE_END}' then false else is_up end as is_up"
    )
    replacements = {"health_checks": f"{down}, {late}", "system_metrics": late}
    with duckdb.connect() as connection:
        for path in sorted(source.glob("*.parquet")):
            replaced = replacements.get(path.stem)
            columns = f"* replace ({replaced})" if replaced else "*"
            connection.execute(
                f"copy (select {columns} from read_parquet('{path}')) "
                f"to '{out / path.name}' (format parquet)"
            )


@pytest.fixture(scope="module")
def builds(dirty: DataSet, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Builds]:
    previous = os.environ.get("OPSMETRICS_DUCKDB_PATH")
    root = tmp_path_factory.mktemp("operations_incremental")
    data, before, after = root / "data", root / "before", root / "after"
    with_late_rows_and_long_outage(dirty.out, data)
    split_by_loaded_at(data, before, after, CUTOFF)
    with_parents = ["--select", *(f"+{path}" for path in OPERATIONS)]

    incremental = root / "incremental.duckdb"
    use_warehouse(incremental)
    load_duckdb(before)
    run_dbt(["seed"])
    build_operations(["run", *with_parents])
    load_duckdb(after)
    incremental_sql = build_operations(
        ["build", *with_parents, "--exclude", "test_type:unit", "--indirect-selection", "cautious"]
    )

    full = root / "full.duckdb"
    use_warehouse(full)
    load_duckdb(data)
    run_dbt(["seed"])
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


def test_the_second_load_holds_late_health_checks_and_host_metrics(builds):
    with duckdb.connect(str(builds.full)) as connection:
        late_checks, late_samples = connection.execute(
            "select "
            "(select count(*) from staging.base_platform__health_checks_validated "
            "where quarantine_reason is null and _loaded_at >= ? and checked_at < ?), "
            "(select count(*) from staging.base_platform__system_metrics_validated "
            "where quarantine_reason is null and _loaded_at >= ? and sampled_at < ?)",
            [CUTOFF, CUTOFF, CUTOFF, CUTOFF],
        ).fetchone()
    assert late_checks > 0
    assert late_samples > 0


def test_an_outage_runs_from_before_the_rebuilt_days_into_the_new_load(builds):
    with duckdb.connect(str(builds.full)) as connection:
        spanning = connection.execute(
            "select count(*) from intermediate.int_outages_identified "
            "where service = ? and started_at < ? and ended_at >= ?",
            [OUTAGE_SERVICE, CUTOFF - timedelta(days=6), CUTOFF],
        ).fetchone()[0]
    assert spanning == 1


@pytest.mark.parametrize("model", INCREMENTAL_MODELS)
def test_the_second_build_ran_incrementally(builds, model):
    """The run read raw versions from a literal bound on `_loaded_at` (a cutoff or a
    first re-loaded day), i.e. took the incremental path."""
    bound = re.compile(r"_loaded_at >= .{0,200}?'\d{4}-\d{2}-\d{2}", re.DOTALL)
    assert bound.search(builds.incremental_sql[model])


@pytest.mark.parametrize("table", MARTS)
def test_incremental_build_equals_full_refresh_row_for_row(builds, table):
    keys = MARTS[table]
    incremental = read(builds.incremental, table, keys)
    full = read(builds.full, table, keys)
    assert len(incremental) == len(full)
    # Sums may be added in another order on the two paths: floats agree to 1e-12.
    pd.testing.assert_frame_equal(incremental, full, check_exact=False, rtol=1e-12)
