"""The load ledger: a file loaded before inserts nothing, also when it has no
`_loaded_at` and also after a crash and a rerun; its rows share one recorded stamp."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import psycopg2
import pytest
from conftest import (
    copy_delivery,
    fetch_rows,
    fresh_postgres_database,
    kill_load_at_file,
    rewrite_delivery,
    warehouse_state,
)

import opsmetrics.load
from opsmetrics.contract import raw_tables
from opsmetrics.load import load_duckdb
from opsmetrics.load_postgres import load_postgres
from opsmetrics.settings import postgres_params


def test_a_file_without_loaded_at_loaded_twice_inserts_nothing_the_second_time(
    tiny_data_dir: Path, tiny_manifest: dict, empty_warehouse: Path, tmp_path: Path
) -> None:
    delivery = rewrite_delivery(tiny_data_dir, tmp_path / "no_stamp", "* exclude (_loaded_at)")
    first = load_duckdb(delivery)
    state = warehouse_state(empty_warehouse)

    second = load_duckdb(delivery)

    assert first == {name: t["rows"] for name, t in tiny_manifest["tables"].items()}
    assert set(second.values()) == {0}
    assert warehouse_state(empty_warehouse) == state


def test_rows_of_a_file_without_loaded_at_share_the_stamp_the_ledger_records(
    tiny_data_dir: Path, empty_warehouse: Path, tmp_path: Path
) -> None:
    load_duckdb(rewrite_delivery(tiny_data_dir, tmp_path / "no_stamp", "* exclude (_loaded_at)"))

    stamps = fetch_rows(
        empty_warehouse,
        "select distinct customers._loaded_at, ledger.loaded_at_stamp, ledger.file_rows "
        "from raw.customers, raw._load_ledger as ledger "
        "where ledger.table_name = 'customers'",
    )
    assert len(stamps) == 1
    stamp, recorded, file_rows = stamps[0]
    assert stamp == recorded
    assert file_rows == warehouse_state(empty_warehouse)["raw.customers"][0]


def test_a_crash_then_a_rerun_then_another_rerun_loads_each_row_once(
    tiny_data_dir: Path, tiny_manifest: dict, empty_warehouse: Path, tmp_path: Path
) -> None:
    delivery = rewrite_delivery(tiny_data_dir, tmp_path / "no_stamp", "* exclude (_loaded_at)")
    with pytest.warns(UserWarning, match="treated as empty"):
        load_duckdb(copy_delivery(tiny_data_dir, tmp_path / "first", ["fx_rates"]))
    kill_load_at_file(delivery, nth_file=8, mode="append")

    rerun = load_duckdb(delivery)
    again = load_duckdb(delivery)

    assert rerun == {name: t["rows"] for name, t in tiny_manifest["tables"].items()}
    assert set(again.values()) == {0}
    state = warehouse_state(empty_warehouse)
    assert {name: state[f"raw.{name}"][0] for name in raw_tables()} == rerun | {
        "fx_rates": 2 * rerun["fx_rates"]
    }


def test_a_new_file_repeating_loaded_rows_inserts_only_its_new_rows(
    tiny_data_dir: Path, empty_warehouse: Path, tmp_path: Path
) -> None:
    """A cumulative export: yesterday's rows again, plus today's."""
    load_duckdb(tiny_data_dir)
    cumulative = tmp_path / "cumulative"
    cumulative.mkdir()
    with duckdb.connect() as connection:
        connection.execute(
            "copy (select * from read_parquet($source) union all "
            "select * replace ('cus_new_' || customer_id as customer_id, "
            "_loaded_at + interval 1 day as _loaded_at) from read_parquet($source) limit 1000) "
            f"to '{cumulative / 'customers.parquet'}' (format parquet)",
            {"source": str(tiny_data_dir / "customers.parquet")},
        )
        file_rows = connection.execute(
            "select count(*) from read_parquet($path)",
            {"path": str(cumulative / "customers.parquet")},
        ).fetchone()[0]
    before = warehouse_state(empty_warehouse)["raw.customers"][0]

    with pytest.warns(UserWarning, match="treated as empty"):
        inserted = load_duckdb(cumulative)

    assert inserted["customers"] == file_rows - before > 0
    assert warehouse_state(empty_warehouse)["raw.customers"][0] == file_rows


@pytest.mark.postgres
def test_postgres_loads_a_file_without_loaded_at_once(
    postgres_server: dict[str, str | int], tiny_data_dir: Path, tmp_path: Path
) -> None:
    delivery = rewrite_delivery(tiny_data_dir, tmp_path / "no_stamp", "* exclude (_loaded_at)")

    with fresh_postgres_database(postgres_server, f"opsmetrics_pytest_ledger_{os.getpid()}"):
        first = load_postgres(delivery)
        second = load_postgres(delivery)
        with psycopg2.connect(**postgres_params()) as connection, connection.cursor() as cursor:
            cursor.execute("select count(*), count(distinct _loaded_at) from raw.customers")
            customers, stamps = cursor.fetchone()
        connection.close()

    assert set(second.values()) == {0}
    assert (customers, stamps) == (first["customers"], 1)


def test_a_new_day_skips_the_comparison_even_beside_unstamped_rows(
    tiny_data_dir: Path, empty_warehouse: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The raw table holds unstamped rows (every old table does): a new day's file is
    inserted without comparing (its cost is its own size), while a file that repeats an
    unstamped row is still compared with them and inserts nothing."""
    source = {"source": str(tiny_data_dir / "customers.parquet")}
    folders = {name: tmp_path / name for name in ("history", "new_day", "unstamped_again")}
    rows = {
        "history": "(select * from read_parquet($source) where _loaded_at is not null limit 20) "
        "union all (select * replace (null as _loaded_at) from read_parquet($source) limit 1)",
        "new_day": "select * replace ('cus_day_' || customer_id as customer_id, "
        "timestamp '2099-01-01' as _loaded_at) from read_parquet($source) limit 5",
        "unstamped_again": "select * replace (null as _loaded_at) from read_parquet($source) "
        "limit 1",
    }
    with duckdb.connect() as connection:
        for name, folder in folders.items():
            folder.mkdir()
            connection.execute(
                f"copy ({rows[name]}) to '{folder / 'customers.parquet'}' (format parquet)", source
            )
    compared: list[str] = []
    run = opsmetrics.load._run

    def spying_run(connection, select, statement, params=None):
        if "except all" in statement:
            compared.append(select.path.parent.name)
        return run(connection, select, statement, params)

    monkeypatch.setattr(opsmetrics.load, "_run", spying_run)
    with pytest.warns(UserWarning, match="treated as empty"):
        loaded = {name: load_duckdb(folder)["customers"] for name, folder in folders.items()}

    assert loaded == {"history": 21, "new_day": 5, "unstamped_again": 0}
    assert compared == ["unstamped_again"]
