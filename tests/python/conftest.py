"""Shared fixtures: tiny data sets generated once per test session."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pytest
from opsmetrics.generate import generate

END_DATE = date(2025, 6, 30)
SEED = 7


@dataclass
class DataSet:
    """A generated folder, its manifest and a DuckDB connection to query its files."""

    out: Path
    manifest: dict

    def query(self, sql: str) -> list[tuple]:
        """Run `sql`, where {table} placeholders name the table's Parquet file."""
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
def make_data(tmp_path_factory: pytest.TempPathFactory):
    """Generate another tiny data set with overridden arguments."""

    def make(**kwargs: object) -> DataSet:
        return _make(tmp_path_factory, "extra", **kwargs)

    return make
