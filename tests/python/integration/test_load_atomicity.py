"""A delivery lands completely or not at all: a bad file, an empty replacement or a kill
-9 in the middle of a load leave the warehouse (DuckDB, and Postgres where marked) exactly
as it was."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg2
import pytest
from conftest import (
    copy_delivery,
    fresh_postgres_database,
    kill_load_at_file,
    rewrite_delivery,
    warehouse_state,
)
from psycopg2 import sql
from typer.testing import CliRunner

from opsmetrics.cli import app
from opsmetrics.contract import raw_tables
from opsmetrics.load import LoadError, load_duckdb
from opsmetrics.load_postgres import load_postgres
from opsmetrics.settings import postgres_params


@pytest.fixture
def loaded(tiny_data_dir: Path, empty_warehouse: Path) -> Path:
    """The warehouse with the tiny delivery loaded once."""
    load_duckdb(tiny_data_dir)
    return empty_warehouse


def test_replace_with_a_zero_byte_parquet_leaves_the_warehouse_unchanged(
    tiny_data_dir: Path, loaded: Path, tmp_path: Path
) -> None:
    delivery = copy_delivery(tiny_data_dir, tmp_path / "zero_byte")
    (delivery / "events.parquet").write_bytes(b"")
    before = warehouse_state(loaded)

    result = CliRunner().invoke(app, ["load", "--from", str(delivery), "--replace"])

    assert result.exit_code == 2
    assert (
        result.output.strip()
        .splitlines()[-1]
        .startswith(f"load failed: {delivery / 'events.parquet'}: not a readable Parquet file")
    )
    assert "Traceback" not in result.output
    assert warehouse_state(loaded) == before


def test_replace_with_a_corrupt_parquet_leaves_the_warehouse_unchanged(
    tiny_data_dir: Path, loaded: Path, tmp_path: Path
) -> None:
    delivery = copy_delivery(tiny_data_dir, tmp_path / "corrupt")
    good = (delivery / "customers.parquet").read_bytes()
    (delivery / "customers.parquet").write_bytes(good[: len(good) // 2])
    before = warehouse_state(loaded)

    with pytest.raises(LoadError, match=r"customers\.parquet: not a readable Parquet file"):
        load_duckdb(delivery, replace=True)

    assert warehouse_state(loaded) == before


def write_header_only_csv(delivery: Path, table: str) -> None:
    (delivery / f"{table}.parquet").unlink()
    header = ",".join(raw_tables()[table].column_names)
    (delivery / f"{table}.csv").write_text(header + "\n")


def test_replace_refuses_to_empty_a_table_from_a_header_only_csv(
    tiny_data_dir: Path, loaded: Path, tmp_path: Path
) -> None:
    delivery = copy_delivery(tiny_data_dir, tmp_path / "header_only")
    write_header_only_csv(delivery, "customers")
    before = warehouse_state(loaded)

    with pytest.raises(LoadError, match=r"customers\.csv has no rows: --replace would empty"):
        load_duckdb(delivery, replace=True)

    assert warehouse_state(loaded) == before


def test_replace_empties_a_table_from_a_header_only_csv_only_when_allowed(
    tiny_data_dir: Path, loaded: Path, tmp_path: Path
) -> None:
    delivery = copy_delivery(tiny_data_dir, tmp_path / "header_only")
    write_header_only_csv(delivery, "customers")

    inserted = load_duckdb(delivery, replace=True, allow_empty=True)

    assert inserted["customers"] == 0
    assert warehouse_state(loaded)["raw.customers"][0] == 0
    assert warehouse_state(loaded)["raw.users"][0] == inserted["users"] > 0


def test_replace_refuses_to_empty_a_table_whose_file_is_missing(
    tiny_data_dir: Path, loaded: Path, tmp_path: Path
) -> None:
    delivery = copy_delivery(tiny_data_dir, tmp_path / "missing")
    (delivery / "events.parquet").unlink()
    before = warehouse_state(loaded)

    with pytest.warns(UserWarning), pytest.raises(LoadError, match=r"no file for raw\.events"):
        load_duckdb(delivery, replace=True)

    assert warehouse_state(loaded) == before


@pytest.mark.parametrize("mode", ["append", "replace"])
def test_a_failing_file_after_good_ones_leaves_the_warehouse_unchanged(
    tiny_data_dir: Path, loaded: Path, tmp_path: Path, mode: str
) -> None:
    """The first tables of the delivery are new rows (with --replace: new tables, built
    beside the old ones), the last file is broken. warehouse_state lists every table, so
    a replacement table left behind would count as a change too."""
    delivery = rewrite_delivery(
        tiny_data_dir,
        tmp_path / "second_delivery",
        "* replace (_loaded_at + interval 1 day as _loaded_at)",
    )
    (delivery / "survey_responses.parquet").write_bytes(b"not parquet at all")
    before = warehouse_state(loaded)

    with pytest.raises(LoadError, match=r"survey_responses\.parquet"):
        load_duckdb(delivery, replace=mode == "replace")

    assert warehouse_state(loaded) == before


@pytest.mark.parametrize("mode", ["append", "replace"])
def test_a_load_killed_midway_leaves_nothing_half_applied(
    tiny_data_dir: Path, loaded: Path, tmp_path: Path, mode: str
) -> None:
    delivery = rewrite_delivery(
        tiny_data_dir,
        tmp_path / "later_delivery",
        "* replace (_loaded_at + interval 2 day as _loaded_at)",
        limit=10,
    )
    before = warehouse_state(loaded)

    kill_load_at_file(delivery, nth_file=6, mode=mode)

    assert warehouse_state(loaded) == before
    load_duckdb(delivery, replace=mode == "replace")
    assert warehouse_state(loaded) != before


def postgres_state() -> dict[str, tuple[int, int]]:
    """Every raw table of the Postgres database: (rows, checksum of the rows)."""
    with psycopg2.connect(**postgres_params()) as connection, connection.cursor() as cursor:
        cursor.execute(
            "select table_name from information_schema.tables where table_schema = 'raw'"
        )
        state = {}
        for (table,) in sorted(cursor.fetchall()):
            cursor.execute(
                sql.SQL("select count(*), coalesce(sum(hashtext(t::text)), 0) from {} as t").format(
                    sql.Identifier("raw", table)
                )
            )
            state[table] = cursor.fetchone()
    connection.close()
    return state


@pytest.fixture
def loaded_postgres(postgres_server: dict[str, str | int], tiny_data_dir: Path) -> Iterator[None]:
    with fresh_postgres_database(postgres_server, f"opsmetrics_pytest_atomic_{os.getpid()}"):
        load_postgres(tiny_data_dir)
        yield


def break_last_file(delivery: Path) -> None:
    (delivery / "survey_responses.parquet").write_bytes(b"not parquet at all")


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("spoil", "error"),
    [
        (break_last_file, r"survey_responses\.parquet"),
        (
            lambda delivery: write_header_only_csv(delivery, "customers"),
            r"customers\.csv has no rows: --replace would empty",
        ),
    ],
    ids=["a_failing_file_after_good_ones", "a_header_only_csv_replacing_a_table"],
)
def test_postgres_a_refused_replace_changes_nothing(
    loaded_postgres: None,
    tiny_data_dir: Path,
    tmp_path: Path,
    spoil: Callable[[Path], None],
    error: str,
) -> None:
    delivery = copy_delivery(tiny_data_dir, tmp_path / "spoiled")
    spoil(delivery)
    before = postgres_state()

    with pytest.raises(LoadError, match=error):
        load_postgres(delivery, replace=True)

    assert postgres_state() == before


@pytest.mark.postgres
def test_postgres_a_load_killed_midway_leaves_nothing_half_applied(
    loaded_postgres: None, tiny_data_dir: Path, tmp_path: Path
) -> None:
    before = postgres_state()

    kill_load_at_file(tiny_data_dir, nth_file=6, mode="replace", target="postgres")

    assert postgres_state() == before
