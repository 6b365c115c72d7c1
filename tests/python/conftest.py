"""Shared fixtures: tiny data sets generated once per session, and one tiny warehouse
built from them (loaded + `dbt build`) that read-only tests share."""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import psycopg2
import pytest
import yaml
from aiosmtpd.controller import Controller
from psycopg2 import sql

import opsmetrics
from opsmetrics import PROJECT_DIR
from opsmetrics.contract import raw_tables
from opsmetrics.dbt_invoke import run_dbt
from opsmetrics.generate import generate
from opsmetrics.load import load_duckdb
from opsmetrics.load_postgres import load_postgres
from opsmetrics.pii_salt import postgres_options
from opsmetrics.settings import postgres_params, scoped_environment

# A copy of the project's files only: build output, local state and virtualenvs stay
# behind, so the copy starts clean (a second checkout, a project with a changed file).
NOT_PROJECT_FILES = shutil.ignore_patterns(
    ".git",
    ".venv*",
    "target",
    "logs",
    "warehouse",
    "data",
    "reports",
    "screenshots",
    "uncommitted",
    "dbt_packages",
    "__pycache__",
    "*.egg-info",
    ".*_cache",
)
END_DATE = date(2025, 6, 30)
SEED = 7
# Set by `make test-postgres`: there a missing server is a failure, not a skip.
REQUIRE_POSTGRES_ENV = "OPSMETRICS_REQUIRE_POSTGRES"


@dataclass
class DataSet:
    """A generated folder, its manifest and a DuckDB connection to query its files."""

    out: Path
    manifest: dict

    def query(self, sql: str) -> list[tuple]:
        """Run `sql`, where each table name is a view over that table's Parquet file."""
        with duckdb.connect() as connection:
            for path in self.out.glob("*.parquet"):
                connection.execute(
                    f"create view {path.stem} as select * from read_parquet('{path}')"
                )
            return connection.execute(sql).fetchall()

    def scalar(self, sql: str) -> object:
        return self.query(sql)[0][0]


def _make(tmp_path_factory: pytest.TempPathFactory, name: str, **kwargs: object) -> DataSet:
    out = tmp_path_factory.mktemp(name)
    arguments = {"scale": "tiny", "seed": SEED, "end_date": END_DATE, "defect_rate": 0.02}
    arguments.update(kwargs)
    return DataSet(out, generate(out=out, **arguments))


@pytest.fixture(scope="session")
def dirty(tmp_path_factory: pytest.TempPathFactory) -> DataSet:
    """Tiny data with defects injected (2 % of rows)."""
    return _make(tmp_path_factory, "dirty")


@pytest.fixture(scope="session")
def clean(tmp_path_factory: pytest.TempPathFactory) -> DataSet:
    """Tiny data without defects."""
    return _make(tmp_path_factory, "clean", defect_rate=0.0)


@pytest.fixture
def make_data(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., DataSet]:
    """Generate another tiny data set with overridden arguments."""

    def make(**kwargs: object) -> DataSet:
        return _make(tmp_path_factory, "extra", **kwargs)

    return make


@pytest.fixture(scope="session")
def parsed_manifest() -> dict:
    """The manifest of `dbt parse` (no warehouse needed): what the governance checks read."""
    run_dbt(["parse", "--quiet"])
    return json.loads((PROJECT_DIR / "target" / "manifest.json").read_text())


@pytest.fixture(scope="session")
def tiny_data_dir(dirty: DataSet) -> Path:
    """The folder of the session's tiny data set (with defects, so quarantine is used)."""
    return dirty.out


@pytest.fixture(scope="session")
def tiny_manifest(dirty: DataSet) -> dict:
    return dirty.manifest


def use_warehouse(path: Path) -> None:
    """Point the loader and dbt at `path` (dbt runs in-process, so the env is shared)."""
    os.environ["OPSMETRICS_DUCKDB_PATH"] = str(path)


@pytest.fixture(scope="session")
def tiny_warehouse(tmp_path_factory: pytest.TempPathFactory, tiny_data_dir: Path) -> Iterator[Path]:
    """A DuckDB warehouse with the tiny data loaded and the whole project built."""
    path = tmp_path_factory.mktemp("warehouse") / "tiny.duckdb"
    with scoped_environment({"OPSMETRICS_DUCKDB_PATH": str(path)}):
        load_duckdb(tiny_data_dir)
        run_dbt(["build"])
        yield path


@pytest.fixture
def warehouse(tiny_warehouse: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection to the built tiny warehouse, closed after the test
    (an open reader would block the next dbt run)."""
    use_warehouse(tiny_warehouse)
    connection = duckdb.connect(str(tiny_warehouse), read_only=True)
    yield connection
    connection.close()


def tiny_warehouse_environment(path: Path) -> dict[str, str]:
    """The environment a subprocess (opsmetrics, mf) needs to work on warehouse `path`."""
    return {
        **os.environ,
        "OPSMETRICS_DUCKDB_PATH": str(path),
        "OPSMETRICS_TARGET": "duckdb",
        "DBT_PROFILES_DIR": str(PROJECT_DIR),
    }


def compiled_sql(result: Any) -> dict[str, str]:
    """The SQL compiled for each model and data test of a run_dbt result, by node name."""
    return {
        r.node.name: r.node.compiled_code
        for r in result.result.results
        if r.node.resource_type in ("model", "test")
    }


@pytest.fixture
def scratch_warehouse(tiny_warehouse: Path, tmp_path: Path) -> Iterator[Path]:
    """A copy of the built tiny warehouse that a test may spoil (or edit and rebuild parts
    of), used as the warehouse until the test ends."""
    path = tmp_path / "scratch.duckdb"
    shutil.copyfile(tiny_warehouse, path)
    use_warehouse(path)
    yield path
    use_warehouse(tiny_warehouse)


def execute_on(path: Path, *statements: str) -> None:
    """Run `statements` on the DuckDB file `path` (a copy a test spoils), then close it."""
    with duckdb.connect(str(path)) as connection:
        for statement in statements:
            connection.execute(statement)


@pytest.fixture(scope="session")
def published_snapshot(tiny_metric_tables: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A published snapshot of the tiny warehouse with its metric tables: the file copied,
    as the publish step leaves it. Readers open copies of it."""
    path = tmp_path_factory.mktemp("published") / "opsmetrics_published.duckdb"
    shutil.copyfile(tiny_metric_tables, path)
    return path


@pytest.fixture
def snapshot_copy(published_snapshot: Path, tmp_path: Path) -> Callable[..., Path]:
    """A copy of the published snapshot with `statements` applied (tables dropped or
    emptied, values changed, alert and forecast rows added)."""
    copies = iter(range(1_000))

    def copy(*statements: str) -> Path:
        path = tmp_path / f"published_{next(copies)}.duckdb"
        shutil.copyfile(published_snapshot, path)
        execute_on(path, *statements)
        return path

    return copy


# The shared interfaces of the alerting and forecasting work, with a few rows: what the
# dashboards and reports show once those tables are published.
ALERT_AND_FORECAST_ROWS = (
    """
    create schema alerts;
    create table alerts.alert_events (
        fingerprint varchar, rule_id varchar, rule_kind varchar, metric varchar,
        slice_name varchar, slice_value varchar, grain varchar, window_start timestamp,
        window_end timestamp, observed_value double, expected_value double,
        lower_bound double, upper_bound double, severity varchar, state varchar,
        message varchar, first_seen_at timestamp, last_seen_at timestamp,
        resolved_at timestamp
    );
    insert into alerts.alert_events values
        ('f1', 'mrr_floor', 'threshold', 'mrr', 'total', 'all', 'month', '2025-06-01',
         '2025-07-01', 41947.98, 50000, null, null, 'critical', 'firing',
         'MRR below its critical floor <b>now</b>', '2025-06-30 06:00', '2025-06-30 07:00',
         null),
        ('f2', 'p95_slo', 'threshold', 'latency_p95_ms', 'service', 'search', 'day',
         '2025-06-30', '2025-07-01', 612.5, 300, null, null, 'high', 'firing',
         'search p95 above 500 ms', '2025-06-30 06:00', '2025-06-30 07:00', null),
        ('f3', 'nps_floor', 'threshold', 'nps', 'total', 'all', 'month', '2025-05-01',
         '2025-06-01', 25, 40, null, null, 'medium', 'resolved', 'NPS recovered',
         '2025-05-31 06:00', '2025-06-01 06:00', '2025-06-01 06:00');
    """,
    """
    create schema forecasts;
    create table forecasts.metric_forecasts (
        metric varchar, slice_name varchar, slice_value varchar, run_at timestamp,
        trained_until date, forecast_date date, horizon_day integer, point double,
        lower_80 double, upper_80 double, lower_95 double, upper_95 double,
        model varchar, status varchar, grain varchar
    );
    insert into forecasts.metric_forecasts
    select metric, 'total', 'all', timestamp '2025-07-01 05:00', date '2025-06-30',
        date '2025-06-30' + horizon::integer, horizon::integer, base + horizon * step,
        base + horizon * step - 2 * spread, base + horizon * step + 2 * spread,
        base + horizon * step - 3 * spread, base + horizon * step + 3 * spread,
        'ets', 'ok', 'day'
    from (values ('mrr', 42000.0, 100.0, 500.0), ('error_rate', 0.4, 0.0, 0.05))
        as inputs(metric, base, step, spread),
        range(1, 93) as horizons(horizon)
    -- as `opsmetrics forecast` writes them: month-end MRR, 30 days of the others
    where case metric when 'mrr' then last_day(date '2025-06-30' + horizon::integer)
        = date '2025-06-30' + horizon::integer else horizon <= 30 end;
    """,
)


@pytest.fixture(scope="session")
def postgres_server() -> dict[str, str | int]:
    """The configured PostgreSQL server's connection settings (OPSMETRICS_PG_*).

    Without OPSMETRICS_PG_HOST the Postgres tests skip, unless OPSMETRICS_REQUIRE_POSTGRES=1
    (make test-postgres), where they fail: CI must never pass by skipping them.
    """
    if not os.environ.get("OPSMETRICS_PG_HOST"):
        reason = (
            "no PostgreSQL server configured (set OPSMETRICS_PG_HOST or run make test-postgres)"
        )
        if os.environ.get(REQUIRE_POSTGRES_ENV) == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    # hash_pii reads the salt from the session setting opsmetrics.pii_salt (README, PII
    # salt); libpq passes PGOPTIONS to every connection dbt and the loader open.
    os.environ.setdefault("PGOPTIONS", postgres_options())
    return postgres_params()


@contextmanager
def fresh_postgres_database(server: dict[str, str | int], name: str) -> Iterator[None]:
    """Create database `name`, point the loader and dbt at it, drop it afterwards: the tests
    never touch the configured database's own schemas (needs the CREATEDB privilege)."""
    admin = psycopg2.connect(**server)
    admin.autocommit = True
    database = sql.Identifier(name)
    with admin.cursor() as cursor:
        cursor.execute(sql.SQL("drop database if exists {} with (force)").format(database))
        cursor.execute(sql.SQL("create database {}").format(database))
    try:
        with scoped_environment({"OPSMETRICS_PG_DATABASE": name}):
            yield
    finally:
        with admin.cursor() as cursor:
            cursor.execute(sql.SQL("drop database if exists {} with (force)").format(database))
        admin.close()


@pytest.fixture(scope="session")
def tiny_postgres(
    postgres_server: dict[str, str | int], tiny_data_dir: Path
) -> Iterator[dict[str, str | int]]:
    """A fresh Postgres database with the same tiny data as `tiny_warehouse` loaded and the
    whole project built on it; yields its connection settings."""
    with fresh_postgres_database(postgres_server, f"opsmetrics_pytest_{os.getpid()}"):
        load_postgres(tiny_data_dir)
        run_dbt(["build"], target="postgres")
        yield postgres_params()


SPARK_TEST_ENV = "OPSMETRICS_TEST_SPARK"


SPARK_INCREMENTAL_ENV = "OPSMETRICS_SPARK_INCREMENTAL"
# With OPSMETRICS_SPARK_INCREMENTAL=1 (make test-spark-incremental, make
# spark-cluster-demo) the Spark build is split in two: every seed and model on the data
# loaded before the last day, then, after loading the last day (and the late rows), the
# incremental `dbt build` of everything, tests included. Its marts must equal DuckDB's
# full build. The first run builds every seed and model, no test (the Postgres daily-run
# test's history and full refresh too).
UNTESTED_BUILD = [
    "build",
    "--exclude-resource-type",
    "test",
    "--exclude-resource-type",
    "unit_test",
]


def spark_builds_incrementally() -> bool:
    return os.environ.get(SPARK_INCREMENTAL_ENV) == "1"


@pytest.fixture(scope="session")
def tiny_spark(tmp_path_factory: pytest.TempPathFactory, tiny_data_dir: Path) -> Iterator[Any]:
    """A local Spark (dbt-spark's session method, in this process; or the cluster at
    OPSMETRICS_SPARK_MASTER) with the same tiny data as `tiny_warehouse` loaded and the
    whole project built on it; yields the Spark session. With OPSMETRICS_SPARK_INCREMENTAL=1
    the build is incremental: the days before the last loaded and built (seeds and
    models), then the last day loaded and the whole project built again (the day marts
    insert-overwrite their recent days; every test runs). Its metastore and tables live
    in a temp folder. Skipped unless OPSMETRICS_TEST_SPARK=1 (`make test-spark`: Java 17
    and minutes of CPU)."""
    if os.environ.get(SPARK_TEST_ENV) != "1":
        pytest.skip("Spark test: run make test-spark")
    from opsmetrics.bench import split_by_loaded_at
    from opsmetrics.load_spark import load_spark, spark_session

    settings = {
        "OPSMETRICS_SPARK_DIR": str(tmp_path_factory.mktemp("spark")),
        # Tiny data: one shuffle partition, no code generation (profiles.yml).
        "OPSMETRICS_SPARK_SHUFFLE_PARTITIONS": "1",
        "OPSMETRICS_SPARK_CODEGEN": "false",
    }
    with scoped_environment(settings):
        if spark_builds_incrementally():
            deliveries = tmp_path_factory.mktemp("spark_deliveries")
            before, last_day = deliveries / "before", deliveries / "last_day"
            cutoff = datetime(END_DATE.year, END_DATE.month, END_DATE.day)
            split_by_loaded_at(tiny_data_dir, before, last_day, cutoff)
            load_spark(before)
            run_dbt(UNTESTED_BUILD, target="spark")
            load_spark(last_day)
        else:
            load_spark(tiny_data_dir)
        run_dbt(["build"], target="spark")
        yield spark_session()


def drop_role(params: dict[str, str | int], role: str) -> None:
    """Drop a Postgres role a test created, with everything it owns and was granted."""
    admin = psycopg2.connect(**params)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(sql.SQL("drop owned by {}").format(sql.Identifier(role)))
        cursor.execute(sql.SQL("drop role {}").format(sql.Identifier(role)))
    admin.close()


@pytest.fixture
def empty_warehouse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A DuckDB warehouse file of the test's own (not created yet), used by the loader."""
    path = tmp_path / "own" / "warehouse.duckdb"
    monkeypatch.setenv("OPSMETRICS_DUCKDB_PATH", str(path))
    return path


def warehouse_state(path: Path) -> dict[str, tuple[int, int]]:
    """Every table of a DuckDB warehouse: (rows, order-independent checksum of the rows),
    to tell "unchanged" from "changed" after a failed or killed load."""
    with duckdb.connect(str(path), read_only=True) as connection:
        tables = connection.execute(
            "select schema_name, table_name from duckdb_tables() order by all"
        ).fetchall()
        return {
            f"{schema}.{table}": connection.execute(
                f'select count(*), coalesce(sum(hash(t)), 0) from "{schema}"."{table}" as t'
            ).fetchone()
            for schema, table in tables
        }


def fetch_rows(path: Path, sql: str, params: list[object] | None = None) -> list[tuple]:
    """The rows of `sql` (with `params`) on the DuckDB file `path`, opened read-only and
    closed again."""
    with duckdb.connect(str(path), read_only=True) as connection:
        return connection.execute(sql, params).fetchall()


def rewrite_delivery(
    source: Path, target: Path, select: str = "*", *, limit: int | None = None, as_csv: bool = False
) -> Path:
    """Every raw table of the delivery `source` written to `target` as
    `select <select> from <its file>` (such as `* exclude (_loaded_at)`), its first `limit`
    rows when given, as Parquet or as CSV with a header."""
    target.mkdir(parents=True, exist_ok=True)
    suffix, options = ("csv", "header, delimiter ','") if as_csv else ("parquet", "format parquet")
    rows = f" limit {limit}" if limit is not None else ""
    with duckdb.connect() as connection:
        for name in raw_tables():
            connection.execute(
                f"copy (select {select} from read_parquet($source){rows}) "
                f"to '{target / name}.{suffix}' ({options})",
                {"source": str(source / f"{name}.parquet")},
            )
    return target


def copy_delivery(source: Path, target: Path, tables: list[str] | None = None) -> Path:
    """A copy of the delivery folder `source` (only `tables`, when given)."""
    target.mkdir(parents=True, exist_ok=True)
    for path in source.glob("*.parquet"):
        if tables is None or path.stem in tables:
            shutil.copy(path, target / path.name)
    return target


# Loads the delivery argv[1] into target argv[4] (argv[3] == "replace": with --replace)
# and, when the loader reads its argv[2]-th file, says "paused" and waits to be killed:
# the tables before it have been written by then.
PAUSING_LOADER = """
import sys, time
from pathlib import Path
import opsmetrics.delivery as delivery
import opsmetrics.load as load

reads = []
read_file = delivery.contract_select


def pause_at_nth_file(*args, **kwargs):
    reads.append(args)
    if len(reads) == int(sys.argv[2]):
        print("paused", flush=True)
        time.sleep(600)
    return read_file(*args, **kwargs)


delivery.contract_select = pause_at_nth_file
load.load(Path(sys.argv[1]), target=sys.argv[4], replace=sys.argv[3] == "replace")
"""


def kill_load_at_file(delivery: Path, nth_file: int, mode: str, target: str = "duckdb") -> None:
    """Run a load in a child process and SIGKILL it while it reads its nth file."""
    child = subprocess.Popen(
        [sys.executable, "-c", PAUSING_LOADER, str(delivery), str(nth_file), mode, target],
        stdout=subprocess.PIPE,
        text=True,
        # The child imports the same opsmetrics as this process, wherever it was found.
        env={**os.environ, "PYTHONPATH": str(Path(opsmetrics.__file__).parents[1])},
    )
    try:
        assert child.stdout.readline().strip() == "paused"
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        child.stdout.close()
    assert child.returncode == -signal.SIGKILL


HOLDER_SCRIPT = """
import sys, duckdb
connection = duckdb.connect(sys.argv[1], read_only=sys.argv[2] == "read_only")
print("holding", flush=True)
sys.stdin.read()
"""


@pytest.fixture
def hold_duckdb() -> Callable[..., Any]:
    """A context manager: another process holds a DuckDB file open (as a writer, or
    read_only) until the block ends, as a running dbt build or a BI client would."""

    @contextmanager
    def hold(path: Path, read_only: bool = False) -> Iterator[int]:
        holder = subprocess.Popen(
            [sys.executable, "-c", HOLDER_SCRIPT, str(path), "read_only" if read_only else "rw"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
            yield holder.pid
        finally:
            holder.stdin.close()
            holder.wait(timeout=60)

    return hold


@pytest.fixture(scope="session")
def tiny_metric_tables(tiny_warehouse: Path) -> Path:
    """The tiny warehouse with its metric tables, exported once for the session by
    `opsmetrics export-metrics` in a subprocess (what the demo and publish run)."""
    use_warehouse(tiny_warehouse)
    run_dbt(["parse"])  # MetricFlow's semantic manifest must name this warehouse
    run_on_warehouse(
        [str(Path(sys.executable).parent / "opsmetrics"), "export-metrics"], tiny_warehouse
    )
    return tiny_warehouse


def run_on_warehouse(command: list[str], warehouse: Path) -> None:
    """Run a command line (mf, opsmetrics) in the project against the DuckDB `warehouse`;
    the test fails with the command's output unless it succeeds."""
    environment = {
        **os.environ,
        "OPSMETRICS_DUCKDB_PATH": str(warehouse),
        "OPSMETRICS_TARGET": "duckdb",
        "DBT_PROFILES_DIR": str(opsmetrics.PROJECT_DIR),
    }
    result = subprocess.run(
        command, cwd=opsmetrics.PROJECT_DIR, env=environment, capture_output=True, text=True
    )
    assert result.returncode == 0, f"{' '.join(command)} failed:\n{result.stdout}{result.stderr}"


class Mailbox:
    """What the local SMTP server of the `smtp` fixture received, one message a string."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        self.messages.append(envelope.content.decode("utf8", "replace"))  # type: ignore[attr-defined]
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    """An aiosmtpd server on a free port of 127.0.0.1: its mailbox and its port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield mailbox, port
    controller.stop()


def assert_close(
    actual: pd.Series,
    expected: pd.Series,
    label: str = "",
    *,
    rtol: float = 1e-9,
    atol: float = 1e-9,
) -> None:
    """`actual` equals `expected` row for row (aligned on the index): a row null on both
    sides agrees, a row defined on one side only fails, values agree within rtol/atol.
    Fails on no row at all, so an empty query cannot pass."""
    joined = pd.concat(
        [actual.astype(float).rename("actual"), expected.astype(float).rename("expected")],
        axis=1,
        sort=True,
    )
    assert not joined.empty, f"{label}: nothing to compare"
    joined = joined[joined.notna().any(axis=1)]
    one_sided = joined[joined.isna().any(axis=1)]
    assert one_sided.empty, f"{label}: defined on one side only:\n{one_sided}"
    np.testing.assert_allclose(
        joined["actual"], joined["expected"], rtol=rtol, atol=atol, err_msg=label
    )


# Parity: two warehouses built from the same data hold the same rows (the Postgres and
# the Spark parity tests). Rows are compared order-independently (sorted by all
# columns); numbers to 1e-9 relative, timestamps, dates, strings and booleans exactly.
PARITY_RELATIVE_TOLERANCE = 1e-9
# Below this, two numbers are equal whatever their ratio (sums that should be 0).
PARITY_ABSOLUTE_TOLERANCE = 1e-12

# JSON text rendered by the warehouse itself (numbers and timestamps are spelled
# differently: 900.0 / 900, '2025-06-01 12:00:00' / '2025-06-01T12:00:00'); compared
# as parsed JSON. quarantined_row_id hashes that text, so it is stable per warehouse
# only and is left out (its uniqueness is a dbt test on both). So is version_key: for a
# row with a null key part it hashes the same text (otherwise it is the natural key,
# compared in its own columns). See docs/decisions.md.
JSON_TEXT_COLUMNS = frozenset({"raw_record"})
WAREHOUSE_RENDERED_COLUMNS = frozenset({"quarantined_row_id", "version_key"})
# The load ledger (raw._load_ledger) records when each warehouse was loaded: the same
# files, rows and hashes on both, at different times.
LOAD_TIME_COLUMNS = frozenset({"loaded_at", "loaded_at_stamp"})
NAIVE_TIMESTAMP = re.compile(r"^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2}(\.\d+)?)$")

NON_FINITE_JSON = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def _json_value(value: Any) -> Any:
    """A parsed JSON value with warehouse spelling removed: numbers as float, naive
    timestamps with a space, non-finite doubles as floats (DuckDB writes them bare,
    Postgres as the strings "NaN", "Infinity", "-Infinity")."""
    if isinstance(value, dict):
        return {key: _json_value(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_json_value(item) for item in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float):
        return float(value)
    if value in NON_FINITE_JSON:
        return NON_FINITE_JSON[value]
    match = NAIVE_TIMESTAMP.match(value)
    return f"{match.group(1)} {match.group(2)}" if match else value


def normalise(column: str, value: Any) -> Any:
    if column in WAREHOUSE_RENDERED_COLUMNS | LOAD_TIME_COLUMNS:
        return None
    if column in JSON_TEXT_COLUMNS and value is not None:
        return _json_value(json.loads(value))
    if isinstance(value, Decimal):
        return float(value)
    return value


def sort_key(row: tuple) -> tuple:
    """Orders rows the same way on both sides although numbers differ in the last bits."""
    return tuple(_sort_part(value) for value in row)


def _sort_part(value: Any) -> tuple:
    if value is None:
        return (0, "")
    if isinstance(value, bool):
        return (1, str(value))
    if isinstance(value, float) and math.isnan(value):
        return (2, math.inf, 1)  # NaN compares with nothing: sort it after +Infinity
    if isinstance(value, int | float):
        return (2, float(f"{value:.9g}"), 0)
    if isinstance(value, dt.date):
        return (3, value.isoformat())
    if isinstance(value, dict | list):
        return (4, _rounded(value))
    return (5, str(value))


def _rounded(value: Any) -> str:
    def rounded(item: Any) -> Any:
        if isinstance(item, dict):
            return {key: rounded(inner) for key, inner in item.items()}
        if isinstance(item, list):
            return [rounded(inner) for inner in item]
        if isinstance(item, float):
            return f"{item:.9g}"
        return item

    return json.dumps(rounded(value), sort_keys=True)


def values_equal(left: Any, right: Any) -> bool:
    if left is None or right is None:
        return left is None and right is None
    if isinstance(left, bool) or isinstance(right, bool):
        return type(left) is type(right) and left == right
    if isinstance(left, int) and isinstance(right, int):
        return left == right
    if isinstance(left, int | float) and isinstance(right, int | float):
        if math.isnan(left) or math.isnan(right):
            return math.isnan(left) and math.isnan(right)
        return math.isclose(
            left, right, rel_tol=PARITY_RELATIVE_TOLERANCE, abs_tol=PARITY_ABSOLUTE_TOLERANCE
        )
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(values_equal(left[k], right[k]) for k in left)
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(map(values_equal, left, right))
    # datetime is a date subclass: a timestamp never equals a date, naive never aware.
    return type(left) is type(right) and left == right


def rows_difference(
    label: str,
    columns: list[str],
    left: tuple[str, list[tuple]],
    right: tuple[str, list[tuple]],
    normalise_value: Callable[[str, Any], Any] = normalise,
) -> str | None:
    """None when the (warehouse name, rows) `left` and `right`, both with `columns`,
    hold the same rows once normalised and sorted; else the first difference."""
    (left_name, left_rows), (right_name, right_rows) = left, right
    if len(left_rows) != len(right_rows):
        return f"{label}: {len(left_rows)} rows on {left_name} vs {len(right_rows)} on {right_name}"

    def normalised_sorted(rows: list[tuple]) -> list[tuple]:
        normalised = [
            tuple(normalise_value(c, v) for c, v in zip(columns, row, strict=True)) for row in rows
        ]
        return sorted(normalised, key=sort_key)

    pairs = zip(normalised_sorted(left_rows), normalised_sorted(right_rows), strict=True)
    for position, (left_row, right_row) in enumerate(pairs):
        differing = [
            f"{column}: {left_name} {a!r} vs {right_name} {b!r}"
            for column, a, b in zip(columns, left_row, right_row, strict=True)
            if not values_equal(a, b)
        ]
        if differing:
            return f"{label}: sorted row {position} differs: {'; '.join(differing)}"
    return None


def outages_from_checks(checks: pd.DataFrame) -> pd.DataFrame:
    """The pandas oracle of outages: walk each service's health checks (check_id, service,
    is_up, checked_at) in time order; an outage runs from its first down check to the next
    check (or its last down check when none follows). Columns: service, started_at,
    minutes, and delay_minutes since the check before it (None for a service's first)."""
    outages = []
    ordered = checks.sort_values(["service", "checked_at", "check_id"])
    for service, group in ordered.groupby("service"):
        times, ups = group["checked_at"].tolist(), group["is_up"].tolist()
        i = 0
        while i < len(ups):
            if ups[i]:
                i += 1
                continue
            j = i
            while j + 1 < len(ups) and not ups[j + 1]:
                j += 1
            end = times[j + 1] if j + 1 < len(ups) else times[j]
            outages.append(
                {
                    "service": service,
                    "started_at": times[i],
                    "minutes": (end - times[i]).total_seconds() / 60,
                    "delay_minutes": (times[i] - times[i - 1]).total_seconds() / 60 if i else None,
                }
            )
            i = j + 1
    return pd.DataFrame(outages, columns=["service", "started_at", "minutes", "delay_minutes"])


GROUP_BY = re.compile(r"^(TimeDimension|Dimension|Entity)\('([a-z0-9_]+)'(?:, '([a-z]+)')?\)$")


def saved_query_columns() -> dict[str, set[str]]:
    """Saved query → the columns of its exported table (group-by names, then metrics)."""
    document = yaml.safe_load((PROJECT_DIR / "metrics" / "saved_queries.yml").read_text())
    columns = {}
    for query in document["saved_queries"]:
        params = query["query_params"]
        names = set(params["metrics"])
        for item in params["group_by"]:
            kind, name, grain = GROUP_BY.match(item).groups()
            names.add(f"{name}__{grain}" if kind == "TimeDimension" else name)
        columns[query["name"]] = names
    return columns
