"""The loader enforces the raw contract and is idempotent."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest
from conftest import rewrite_delivery

from opsmetrics.contract import raw_tables
from opsmetrics.load import LoadError, LoadWarning, load_duckdb


def raw_counts(path: Path) -> dict[str, int]:
    with duckdb.connect(str(path), read_only=True) as connection:
        return {
            name: connection.execute(f"select count(*) from raw.{name}").fetchone()[0]
            for name in raw_tables()
        }


def test_loading_the_same_files_twice_leaves_the_same_rows(
    tiny_data_dir, tiny_manifest, empty_warehouse
):
    first = load_duckdb(tiny_data_dir)
    second = load_duckdb(tiny_data_dir)
    assert first == {name: t["rows"] for name, t in tiny_manifest["tables"].items()}
    assert set(second.values()) == {0}
    assert raw_counts(empty_warehouse) == first


def test_replace_starts_the_raw_tables_afresh(tiny_data_dir, empty_warehouse):
    first = load_duckdb(tiny_data_dir)
    assert load_duckdb(tiny_data_dir, replace=True) == first
    assert raw_counts(empty_warehouse) == first


def test_rows_are_stored_in_load_order(tiny_data_dir, empty_warehouse):
    load_duckdb(tiny_data_dir)
    with duckdb.connect(str(empty_warehouse), read_only=True) as connection:
        for name in raw_tables():
            out_of_order = connection.execute(
                f"""
                select count(*) from (
                    select _loaded_at < lag(_loaded_at) over (order by rowid) as earlier
                    from raw.{name}
                ) where earlier
                """
            ).fetchone()[0]
            assert out_of_order == 0, name


def test_a_missing_table_file_is_named_and_loaded_as_empty(
    tiny_data_dir, tmp_path, empty_warehouse
):
    partial = tmp_path / "partial"
    shutil.copytree(tiny_data_dir, partial)
    (partial / "events.parquet").unlink()
    with pytest.warns(LoadWarning, match=r"no file for events in .*: treated as empty"):
        inserted = load_duckdb(partial)
    assert inserted["events"] == 0
    assert raw_counts(empty_warehouse)["events"] == 0


def test_a_missing_contract_column_is_named(tiny_data_dir, tmp_path, empty_warehouse):
    broken = tmp_path / "broken"
    shutil.copytree(tiny_data_dir, broken)
    source = tiny_data_dir / "users.parquet"
    with duckdb.connect() as connection:
        connection.execute(
            f"copy (select * exclude (email) from read_parquet('{source}'))"
            f" to '{broken / 'users.parquet'}' (format parquet)"
        )
    with pytest.raises(LoadError, match=r"users\.parquet: lacks contract column\(s\): email"):
        load_duckdb(broken)


def test_csv_files_load_like_parquet(tiny_data_dir, tmp_path, empty_warehouse):
    as_csv = rewrite_delivery(tiny_data_dir, tmp_path / "csv", as_csv=True)
    inserted = load_duckdb(as_csv)
    with duckdb.connect() as connection:
        expected = {
            name: connection.execute(
                f"select count(*) from '{tiny_data_dir / name}.parquet'"
            ).fetchone()[0]
            for name in raw_tables()
        }
    assert inserted == expected
