"""Superset, end to end (`make test-bi`): set up in a fresh home from bi/bundle, pointed at a
snapshot published from the tiny warehouse, started headless on 127.0.0.1; every dataset
read through Superset's REST API must hold the numbers `mf query` gives for its saved
query. Skipped unless OPSMETRICS_TEST_BI=1 (Superset needs .venv-bi; `make test-bi`)."""

from __future__ import annotations

import csv
import math
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest
from conftest import drop_role, use_warehouse

from opsmetrics import PROJECT_DIR
from opsmetrics.bi import (
    POSTGRES_DATABASE,
    PUBLISHED_DATABASE,
    READER_ROLE,
    BiError,
    SupersetClient,
    register_postgres,
    running_superset,
    setup,
)
from opsmetrics.dashboards.audiences import REGISTRY
from opsmetrics.dbt_invoke import run_dbt
from opsmetrics.postgres_reader import setup_reader_role
from opsmetrics.publish import write_snapshot
from opsmetrics.semantic import load_manifest, metric_tables

pytestmark = [
    pytest.mark.bi,
    pytest.mark.skipif(
        os.environ.get("OPSMETRICS_TEST_BI") != "1", reason="Superset test: run make test-bi"
    ),
]
MF = Path(sys.executable).parent / "mf"


@pytest.fixture(scope="module")
def superset_url(
    tiny_metric_tables: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("bi")
    snapshot = write_snapshot(tiny_metric_tables, folder / "opsmetrics_published.duckdb", "test-bi")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("OPSMETRICS_SUPERSET_HOME", str(folder / "superset_home"))
        setup(published=snapshot.path)
        with running_superset(log=folder / "superset.log") as url:
            yield url


def mf_query(
    saved_query: str, warehouse: Path | None, out: Path, env: dict[str, str] | None = None
) -> list[dict[str, str]]:
    """`mf query --saved-query` as a user runs it (on the DuckDB `warehouse`, or where
    `env` points), into a CSV file."""
    done = subprocess.run(
        [str(MF), "query", "--saved-query", saved_query, "--csv", str(out), "--quiet"],
        cwd=PROJECT_DIR,
        env=env or {**os.environ, "OPSMETRICS_DUCKDB_PATH": str(warehouse)},
        check=False,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-2000:]
    with out.open() as handle:
        return list(csv.DictReader(handle))


def as_key(value: Any) -> str:
    """A dimension value in one spelling: Superset sends times as epoch milliseconds,
    mf's CSV as text."""
    if isinstance(value, int | float) and value > 10**11:
        return datetime.fromtimestamp(value / 1000, tz=UTC).strftime("%Y-%m-%d")
    return str(value)[:10] if str(value)[:4].isdigit() else str(value)


def as_number(value: Any) -> float | None:
    return None if value in (None, "") else float(value)


def assert_same_numbers(rows: list[dict[str, Any]], expected: list[dict[str, str]], table) -> None:
    """Superset's rows of a metric table hold mf's rows: the same keys, every metric equal."""
    expected = [r for r in expected if any(r[m] not in ("", None) for m in table.metrics)]
    assert len(rows) == len(expected) > 0, table.table
    dimensions = [c for c in expected[0] if c not in table.metrics]

    def keyed(records: list[dict[str, Any]], dims: list[str]) -> dict[tuple, dict]:
        return {tuple(as_key(r[d]) for d in dims): r for r in records}

    superset_rows = keyed(rows, [d.lower() for d in dimensions])
    for key, want in keyed(expected, dimensions).items():
        got = superset_rows[key]
        for metric in table.metrics:
            a, b = as_number(got[metric]), as_number(want[metric])
            assert (a is None and b is None) or (
                a is not None and b is not None and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
            ), (table.table, key, metric, a, b)


def test_each_superset_dataset_returns_the_numbers_of_mf_query(
    superset_url: str, tiny_metric_tables: Path, tmp_path: Path
):
    use_warehouse(tiny_metric_tables)
    run_dbt(["parse"])  # the semantic manifest must name this warehouse's relations
    client = SupersetClient(superset_url)
    datasets = [
        d for d in client.datasets() if d["database"]["database_name"] == PUBLISHED_DATABASE
    ]
    tables = {t.table: t for t in metric_tables(load_manifest())}
    assert {d["table_name"] for d in datasets} >= {
        REGISTRY[name].card_table for name in REGISTRY
    }, "bi/bundle has a dataset on each audience's metric table"
    for dataset in datasets:
        table = tables[dataset["table_name"]]
        with duckdb.connect(str(tiny_metric_tables), read_only=True) as connection:
            columns = connection.execute(f"describe metrics.{table.table}").df()["column_name"]
        assert client.dataset_columns(dataset["id"]) == set(columns), (
            f"bi/bundle's dataset {table.table} is not the saved query's table: update it"
        )
        expected = mf_query(table.saved_query, tiny_metric_tables, tmp_path / f"{table.table}.csv")
        assert_same_numbers(client.dataset_rows(dataset["id"]), expected, table)


@pytest.mark.postgres
def test_superset_reads_the_postgres_marts_as_the_reader_role_only(
    superset_url: str, tiny_postgres: dict, tmp_path: Path
):
    """`make bi` with OPSMETRICS_PG_HOST registers the Postgres warehouse as the read-only
    role: SQL Lab reads its metric table with mf's numbers on Postgres; raw is refused.
    (Superset's SQLite metadata keeps table names unique, so the published snapshot's
    dataset of the same table cannot be doubled on Postgres.)"""
    export = [str(MF.parent / "opsmetrics"), "export-metrics", "--target", "postgres"]
    done = subprocess.run(export, cwd=PROJECT_DIR, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    password = "reader-superset-password"
    setup_reader_role(READER_ROLE, password, tiny_postgres)
    try:
        with pytest.MonkeyPatch.context() as env:
            env.setenv("OPSMETRICS_PG_READER_PASSWORD", password)
            registered = register_postgres()
        assert registered.startswith(f"{POSTGRES_DATABASE}: ") and password not in registered
        client = SupersetClient(superset_url)
        database = client.database_id(POSTGRES_DATABASE)
        rows = client.sql(database, "select * from metrics.executive_monthly")
        run_dbt(["parse"], target="postgres")
        table = {t.table: t for t in metric_tables(load_manifest())}["executive_monthly"]
        env = {**os.environ, "OPSMETRICS_TARGET": "postgres"}
        expected = mf_query(table.saved_query, None, tmp_path / "pg.csv", env)
        assert_same_numbers(rows, expected, table)
        with pytest.raises(BiError, match="permission denied"):
            client.sql(database, "select count(*) from raw.customers")
    finally:
        run_dbt(["parse"])
        drop_role(tiny_postgres, READER_ROLE)
