"""Shared fixtures: tiny data sets generated once per session, and one tiny warehouse
built from them (loaded + `dbt build`) that read-only tests share."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pytest

from opsmetrics.dbt_invoke import run_dbt
from opsmetrics.generate import generate
from opsmetrics.load import load_duckdb

END_DATE = date(2025, 6, 30)
SEED = 7


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
    """A connection to the built tiny warehouse for reading, closed after the test.

    Not opened read_only: dbt ran in this process and DuckDB refuses a second
    configuration of an open database file. Tests only read through it.
    """
    use_warehouse(tiny_warehouse)
    connection = duckdb.connect(str(tiny_warehouse))
    yield connection
    connection.close()
