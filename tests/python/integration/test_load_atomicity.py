"""A delivery lands completely or not at all: a bad file, an empty replacement or a kill
-9 in the middle of a load leave the DuckDB warehouse exactly as it was."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from conftest import copy_delivery, warehouse_state
from typer.testing import CliRunner

from opsmetrics.cli import app
from opsmetrics.contract import raw_tables
from opsmetrics.load import LoadError, load_duckdb

# Loads the delivery argv[1] (argv[3] == "replace": with --replace) and, when the loader
# reads the argv[2]-th file, says "paused" and waits to be killed: the tables before it
# have been written by then.
PAUSING_LOADER = """
import sys, time
from pathlib import Path
import opsmetrics.load as load

reads = []
read_file = load.contract_select


def pause_at_nth_file(*args, **kwargs):
    reads.append(args)
    if len(reads) == int(sys.argv[2]):
        print("paused", flush=True)
        time.sleep(600)
    return read_file(*args, **kwargs)


load.contract_select = pause_at_nth_file
load.load_duckdb(Path(sys.argv[1]), replace=sys.argv[3] == "replace")
"""


def kill_load_at_file(delivery: Path, nth_file: int, mode: str) -> None:
    """Run a load in a child process and SIGKILL it while it reads its nth file."""
    child = subprocess.Popen(
        [sys.executable, "-c", PAUSING_LOADER, str(delivery), str(nth_file), mode],
        stdout=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )
    try:
        assert child.stdout.readline().strip() == "paused"
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        child.stdout.close()
    assert child.returncode == -signal.SIGKILL


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
    assert result.output.strip().splitlines()[-1].startswith(
        f"load failed: {delivery / 'events.parquet'}: not a readable Parquet file"
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


def test_a_failing_file_after_good_ones_leaves_the_warehouse_unchanged(
    tiny_data_dir: Path, loaded: Path, tmp_path: Path
) -> None:
    """The first tables of the delivery are new rows, the last file is broken."""
    delivery = tmp_path / "second_delivery"
    delivery.mkdir()
    with duckdb.connect() as connection:
        for name in raw_tables():
            connection.execute(
                f"copy (select * replace (_loaded_at + interval 1 day as _loaded_at) "
                f"from read_parquet('{tiny_data_dir / name}.parquet')) "
                f"to '{delivery / name}.parquet' (format parquet)"
            )
    (delivery / "survey_responses.parquet").write_bytes(b"not parquet at all")
    before = warehouse_state(loaded)

    with pytest.raises(LoadError, match="survey_responses.parquet"):
        load_duckdb(delivery)

    assert warehouse_state(loaded) == before


@pytest.mark.parametrize("mode", ["append", "replace"])
def test_a_load_killed_midway_leaves_nothing_half_applied(
    tiny_data_dir: Path, loaded: Path, tmp_path: Path, mode: str
) -> None:
    delivery = tmp_path / "later_delivery"
    delivery.mkdir()
    with duckdb.connect() as connection:
        for name in raw_tables():
            connection.execute(
                f"copy (select * replace (_loaded_at + interval 2 day as _loaded_at) "
                f"from read_parquet('{tiny_data_dir / name}.parquet') limit 10) "
                f"to '{delivery / name}.parquet' (format parquet)"
            )
    before = warehouse_state(loaded)

    kill_load_at_file(delivery, nth_file=6, mode=mode)

    assert warehouse_state(loaded) == before
    load_duckdb(delivery, replace=mode == "replace")
    assert warehouse_state(loaded) != before
