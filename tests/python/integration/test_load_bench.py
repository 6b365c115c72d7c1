"""`opsmetrics bench load`: the loader against plain `create table … as select * from
read_parquet(…)` of the same files, a reload and a one-day delivery, each counted
independently of the loader; bad input ends on one line, exit code 2."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest
from conftest import copy_delivery
from typer.testing import CliRunner

from opsmetrics.bench import bench_load, benchmarks_doc, last_day_delivery
from opsmetrics.cli import app
from opsmetrics.contract import raw_tables
from opsmetrics.delivery import LoadError


def rows_in(folder: Path, where: str = "true") -> int:
    with duckdb.connect() as connection:
        return sum(
            connection.execute(
                f"select count(*) from read_parquet($path) where {where}",
                {"path": str(folder / f"{name}.parquet")},
            ).fetchone()[0]
            for name in raw_tables()
        )


def test_bench_load_counts_every_step_and_records_its_section(
    tiny_data_dir: Path, tmp_path: Path
) -> None:
    doc = tmp_path / "benchmarks.md"
    scratch = tmp_path / "scratch"

    result = bench_load(tiny_data_dir, "tiny", scratch=scratch, doc=doc)

    total = rows_in(tiny_data_dir)
    day = rows_in(tiny_data_dir, f"_loaded_at >= '{result['cutoff']}'")
    assert result["load"]["rows"] == result["plain"]["rows"] == total
    assert result["reload"]["rows"] == 0
    assert 0 < day < total
    assert result["day"]["rows"] == day
    assert result["resent"]["rows"] == 0
    assert result["ratio"] == round(
        result["load"]["wall_seconds"] / result["plain"]["wall_seconds"], 2
    )
    assert all(result[step]["peak_rss_mib"] > 0 for step in ("load", "plain", "day"))
    assert 0 < result["day"]["load_seconds"] <= result["day"]["wall_seconds"]
    assert result["plain"]["load_seconds"] is None
    assert "## load, scale tiny" in doc.read_text()
    assert list(scratch.iterdir()) == []


def test_the_last_day_is_the_calendar_day_ending_with_the_latest_load(
    tiny_data_dir: Path, tmp_path: Path
) -> None:
    files = {name: tiny_data_dir / f"{name}.parquet" for name in raw_tables()}

    cutoff = last_day_delivery(files, tmp_path / "day", tmp_path / "resent")

    with duckdb.connect() as connection:
        latest = max(
            connection.execute(
                "select max(_loaded_at) from read_parquet($path)", {"path": str(path)}
            ).fetchone()[0]
            for path in files.values()
        )
    last = latest - timedelta(microseconds=1)
    assert cutoff == last.replace(hour=0, minute=0, second=0, microsecond=0)
    assert latest - cutoff <= timedelta(days=1)
    expected = rows_in(tiny_data_dir, f"_loaded_at >= '{cutoff}'")
    assert rows_in(tmp_path / "day") == rows_in(tmp_path / "resent") == expected
    assert (tmp_path / "day" / "events.parquet").read_bytes() != (
        tmp_path / "resent" / "events.parquet"
    ).read_bytes()


def test_bench_load_refuses_csv_files(tiny_data_dir: Path, tmp_path: Path) -> None:
    delivery = copy_delivery(tiny_data_dir, tmp_path / "csv")
    with duckdb.connect() as connection:
        connection.execute(
            f"copy (select * from read_parquet('{delivery}/customers.parquet')) "
            f"to '{delivery}/customers.csv' (header)"
        )
    (delivery / "customers.parquet").unlink()

    with pytest.raises(LoadError, match=r"compares Parquet files only, not customers\.csv"):
        bench_load(delivery, "tiny", scratch=tmp_path / "scratch", doc=tmp_path / "b.md")


def test_bench_load_refuses_a_delivery_without_loaded_at(
    tiny_data_dir: Path, tmp_path: Path
) -> None:
    files = {name: tiny_data_dir / f"{name}.parquet" for name in raw_tables()}
    stripped = tmp_path / "stripped.parquet"
    with duckdb.connect() as connection:
        connection.execute(
            f"copy (select * exclude (_loaded_at) from read_parquet('{files['events']}')) "
            f"to '{stripped}' (format parquet)"
        )
    files["events"] = stripped

    with pytest.raises(LoadError, match=r"stripped\.parquet: no _loaded_at column"):
        last_day_delivery(files, tmp_path / "day", tmp_path / "resent")


@pytest.mark.parametrize("breakage", ["corrupt", "missing_folder"])
def test_bench_load_of_bad_input_ends_on_one_line_with_exit_code_2(
    tiny_data_dir: Path, tmp_path: Path, breakage: str
) -> None:
    delivery = copy_delivery(tiny_data_dir, tmp_path / "bad")
    if breakage == "corrupt":
        (delivery / "users.parquet").write_bytes(b"not parquet at all")
        expected = f"bench load failed: {delivery / 'users.parquet'}: not a readable Parquet"
    else:
        shutil.rmtree(delivery)
        expected = f"bench load failed: {delivery}: not a directory"
    doc_before = benchmarks_doc().read_text()

    arguments = ["--from", str(delivery), "--scale", "tiny", "--scratch", str(tmp_path / "s")]

    result = CliRunner().invoke(app, ["bench", "load", *arguments])

    assert result.exit_code == 2
    assert result.output.strip().splitlines()[-1].startswith(expected)
    assert "Traceback" not in result.output
    assert benchmarks_doc().read_text() == doc_before
