"""Shared fixtures: one tiny generated data set, loaded and built once per session."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import duckdb
import pytest

from opsmetrics.dbt_invoke import run_dbt
from opsmetrics.generate import generate
from opsmetrics.load import load_duckdb

TEST_SEED = 7
TEST_END_DATE = date(2026, 6, 30)


@pytest.fixture(scope="session")
def tiny_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Tiny raw data with the default defect rate (so quarantine is exercised)."""
    out = tmp_path_factory.mktemp("raw_tiny")
    generate(scale="tiny", seed=TEST_SEED, out=out, end_date=TEST_END_DATE)
    return out


@pytest.fixture(scope="session")
def tiny_manifest(tiny_data_dir: Path) -> dict:
    return json.loads((tiny_data_dir / "manifest.json").read_text())


def use_warehouse(path: Path) -> None:
    """Point the loader and dbt at `path` (dbt is run in-process, so the env is shared)."""
    os.environ["OPSMETRICS_DUCKDB_PATH"] = str(path)


@pytest.fixture(scope="session")
def tiny_warehouse(tmp_path_factory: pytest.TempPathFactory, tiny_data_dir: Path) -> Iterator[Path]:
    """A DuckDB warehouse with the tiny data loaded and the whole project built."""
    previous = os.environ.get("OPSMETRICS_DUCKDB_PATH")
    path = tmp_path_factory.mktemp("warehouse") / "tiny.duckdb"
    use_warehouse(path)
    load_duckdb(tiny_data_dir)
    run_dbt(["build"])
    yield path
    if previous is None:
        os.environ.pop("OPSMETRICS_DUCKDB_PATH", None)
    else:
        os.environ["OPSMETRICS_DUCKDB_PATH"] = previous


@pytest.fixture
def warehouse(tiny_warehouse: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection to the built tiny warehouse, closed after the test
    (an open reader would block the next dbt run)."""
    use_warehouse(tiny_warehouse)
    connection = duckdb.connect(str(tiny_warehouse), read_only=True)
    yield connection
    connection.close()
