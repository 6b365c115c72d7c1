"""Folder names reach SQL only as bound parameters: a name that is SQL runs nothing, and
a name with a quote loads like any other (DuckDB, and the Postgres COPY path)."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import psycopg2
import pytest
from conftest import copy_delivery, fresh_postgres_database, warehouse_state

from opsmetrics.load import load_duckdb
from opsmetrics.load_postgres import load_postgres
from opsmetrics.settings import postgres_params

INJECTION = "a'); create table main.injected as select 42 as x; --"


def as_csv(delivery: Path, target: Path) -> Path:
    """The delivery as CSV files, written under a plain name first, then renamed."""
    plain = target.parent / "plain"
    plain.mkdir(parents=True)
    with duckdb.connect() as connection:
        for path in delivery.glob("*.parquet"):
            connection.execute(
                "copy (select * from read_parquet($source)) to "
                f"'{plain / path.stem}.csv' (header, delimiter ',')",
                {"source": str(path)},
            )
    return plain.rename(target)


@pytest.mark.parametrize("kind", ["parquet", "csv"])
def test_a_folder_named_like_sql_creates_nothing_and_loads(
    tiny_data_dir: Path, tiny_manifest: dict, empty_warehouse: Path, tmp_path: Path, kind: str
) -> None:
    delivery = copy_delivery(tiny_data_dir, tmp_path / "parquet" / INJECTION)
    if kind == "csv":
        delivery = as_csv(delivery, tmp_path / "csv" / INJECTION)

    inserted = load_duckdb(delivery)

    assert inserted == {name: t["rows"] for name, t in tiny_manifest["tables"].items()}
    assert not [table for table in warehouse_state(empty_warehouse) if "injected" in table]


def test_a_folder_with_a_quote_in_its_name_loads(
    tiny_data_dir: Path, tiny_manifest: dict, empty_warehouse: Path, tmp_path: Path
) -> None:
    delivery = copy_delivery(tiny_data_dir, tmp_path / "o'brien deliveries")

    inserted = load_duckdb(delivery)

    assert inserted == {name: t["rows"] for name, t in tiny_manifest["tables"].items()}


@pytest.mark.postgres
def test_the_postgres_path_cannot_be_made_to_write_a_file(
    postgres_server: dict[str, str | int], tiny_data_dir: Path, tmp_path: Path
) -> None:
    written = tmp_path / "written.csv"
    folder = f"a'); copy (select 42 as x) to '{written}'; --"
    delivery = copy_delivery(tiny_data_dir, tmp_path / folder)

    with fresh_postgres_database(postgres_server, f"opsmetrics_pytest_inject_{os.getpid()}"):
        inserted = load_postgres(delivery)
        with psycopg2.connect(**postgres_params()) as connection, connection.cursor() as cursor:
            cursor.execute("select count(*) from raw.customers")
            customers = cursor.fetchone()[0]
        connection.close()

    assert not written.exists()
    assert customers == inserted["customers"] > 0
