"""Benchmark results are written to their own section of the benchmarks document."""

from __future__ import annotations

import os
import time
from datetime import datetime
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from opsmetrics.bench import (
    INTRO,
    BenchInputError,
    DiskPeaks,
    PeakSampler,
    disk_bytes,
    record,
    scratch_directory,
    split_by_loaded_at,
)
from opsmetrics.cli import app

MACHINE = {"cores (nproc)": "2"}
ROWS = {"api_requests": 1_000, "events": 500}
RUN = {
    "wall_seconds": 12.5,
    "dbt_seconds": 10.0,
    "peak_rss_mib": 900,
    "summary": {"passed": 7, "warned": 0, "failed": 0, "errored": 0, "skipped": 0},
    "slowest": [["fct_api_requests", 4.2]],
}
RESULTS = {
    "generate": {"wall_seconds": 3.5, "peak_rss_mib": 100, "rows": ROWS},
    "quality": {"wall_seconds": 60.0, "peak_rss_mib": 2000, "note": "141 passed.", "rows": ROWS},
    "build": {
        "build": RUN,
        "peak_disk_mib": 12_345,
        "peak_spill_mib": 6_789,
        "rows": ROWS,
        "duckdb_memory_limit": "8GB",
        "duckdb_threads": 2,
    },
    "operations": {
        "full": RUN,
        "full_requests": 9_000,
        "incremental": {**RUN, "wall_seconds": 2.5, "dbt_seconds": 0.5},
        "incremental_raw_requests": 300,
        "duckdb_memory_limit": "8GB",
        "duckdb_threads": 2,
    },
    "load": {
        "load": {"wall_seconds": 20.0, "peak_rss_mib": 800, "rows": 1_500},
        "plain": {"wall_seconds": 16.0, "peak_rss_mib": 700, "rows": 1_500},
        "ratio": 1.25,
        "reload": {"wall_seconds": 1.0, "peak_rss_mib": 90, "rows": 0},
        "day": {"wall_seconds": 1.5, "peak_rss_mib": 120, "rows": 20, "load_seconds": 0.4},
        "resent": {"wall_seconds": 1.6, "peak_rss_mib": 120, "rows": 0},
        "cutoff": "2026-11-29 00:00:00",
        "load_memory_limit": "3GB",
    },
}


def result(benchmark: str, date: str = "2026-11-23 16:00 UTC") -> dict:
    return {
        "benchmark": benchmark,
        "scale": "tiny",
        "date": date,
        "machine": MACHINE,
        **RESULTS[benchmark],
    }


@pytest.mark.parametrize("benchmark", sorted(RESULTS))
def test_record_writes_then_replaces_its_section(tmp_path: Path, benchmark: str) -> None:
    doc = tmp_path / "benchmarks.md"
    other = "build" if benchmark == "generate" else "generate"
    record(result(other), doc)
    record(result(benchmark, date="2026-11-23 16:00 UTC"), doc)
    record(result(benchmark, date="2026-11-23 17:00 UTC"), doc)

    text = doc.read_text()
    assert text.startswith(INTRO)
    sections = {s.split(",")[0]: s for s in text.split("\n## ")[1:]}
    assert sorted(sections) == sorted([benchmark, other])
    assert "Run 2026-11-23 17:00 UTC" in sections[benchmark]
    assert "16:00" not in sections[benchmark]
    assert sections[benchmark].rstrip().endswith("Machine: cores (nproc) 2.")
    assert text.count("\n\n## ") == 2 and text.endswith(".\n")


def test_operations_section_reports_the_incremental_share(tmp_path: Path) -> None:
    doc = tmp_path / "benchmarks.md"
    record(result("operations"), doc)

    text = doc.read_text()
    assert "5.0 % of the full build's dbt time (20.0 % of its wall time)" in text
    assert "fct_api_requests 4.2 s" in text
    assert "| 9,000 in the fact |" in text


def test_build_section_reports_node_counts(tmp_path: Path) -> None:
    doc = tmp_path / "benchmarks.md"
    record(result("build"), doc)

    text = doc.read_text()
    assert "7 nodes passed, 0 warned, 0 failed, 0 skipped" in text
    assert "**12,345 MiB** (the DuckDB file, its WAL and DuckDB's temp directory)" in text
    assert "of which **6,789 MiB** temp spill" in text
    assert "| **total** | 1,500 |" in text


@pytest.mark.parametrize(("unstamped_before", "expected"), [(False, (1, 2)), (True, (2, 1))])
def test_split_by_loaded_at_places_unstamped_rows_on_the_side_asked(
    tmp_path: Path, unstamped_before: bool, expected: tuple[int, int]
) -> None:
    """bench daily keeps unstamped rows with the history (a user row unstamped in the
    history belongs there); the incremental test sends them with the later delivery."""
    source = tmp_path / "source"
    source.mkdir()
    with duckdb.connect() as connection:
        connection.execute(
            "copy (select * from (values (1, timestamp '2026-11-28 10:00'), "
            "(2, timestamp '2026-11-29 10:00'), (3, null)) as t(id, _loaded_at)) "
            f"to '{source / 'users.parquet'}' (format parquet)"
        )
        split_by_loaded_at(
            source,
            tmp_path / "before",
            tmp_path / "after",
            datetime(2026, 11, 29),
            unstamped_before=unstamped_before,
        )
        counts = tuple(
            connection.execute(
                f"select count(*) from '{tmp_path / side / 'users.parquet'}'"
            ).fetchone()[0]
            for side in ("before", "after")
        )
    assert counts == expected


def test_peak_sampler_keeps_the_highest_value_seen_not_the_last() -> None:
    level = [1.0]
    with PeakSampler(lambda: level[0], interval=0.01) as sampler:
        level[0] = 5.0
        time.sleep(0.2)
        level[0] = 2.0
    assert sampler.peak == 5.0


def test_disk_peaks_count_the_warehouse_and_duckdbs_spill_while_it_lasted(
    tmp_path: Path,
) -> None:
    warehouse = tmp_path / "w.duckdb"
    (tmp_path / "other.duckdb").write_bytes(b"x" * 2**25)  # beside it, not its own
    config = {
        "memory_limit": "32MB",
        "threads": 1,
        "temp_directory": f"{warehouse}.tmp",  # the profile's default beside the file
        "preserve_insertion_order": False,
    }
    # A sort of 1 M rows cannot stay within 32 MB: DuckDB spills, then removes its temp
    # files when the connection closes.
    with (
        DiskPeaks(warehouse, interval=0.01) as disk,
        duckdb.connect(str(warehouse), config=config) as connection,
    ):
        connection.execute(
            "create table t as select i, md5(i::varchar) as h from range(1000000) r(i) order by h"
        )
    assert not Path(f"{warehouse}.tmp").exists()  # the spill was there only meanwhile
    assert disk.spill_mib > 0
    assert disk.total_mib >= max(disk.spill_mib, disk_bytes(warehouse) / 2**20)
    assert disk.total_mib < disk.spill_mib + disk_bytes(warehouse) / 2**20 + 16


def test_disk_bytes_of_missing_paths_is_zero_and_folders_count_what_is_under_them(
    tmp_path: Path,
) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "f").write_bytes(b"x" * 2**16)
    assert disk_bytes(tmp_path / "missing") == 0
    assert disk_bytes(tmp_path / "a") >= 2**16
    assert disk_bytes(tmp_path / "a", tmp_path / "missing") == disk_bytes(tmp_path / "a")


def test_disk_bytes_of_a_folder_removed_while_it_counts_is_not_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DuckDB removes its temp directory between two statements; a sampler that lists it
    just then must not die (a large bench daily lost its disk sampler that way)."""
    spill = tmp_path / "w.duckdb.tmp"
    spill.mkdir()
    (spill / "block.tmp").write_bytes(b"x" * 2**16)
    listing = os.scandir

    def removed_meanwhile(path: object = ".") -> object:
        if Path(os.fsdecode(path)) == spill:
            raise FileNotFoundError(2, "No such file or directory", str(path))
        return listing(path)

    monkeypatch.setattr(os, "scandir", removed_meanwhile)
    assert disk_bytes(spill) < 2**16


def test_scratch_directory_creates_a_missing_workdir_and_leaves_it_empty(tmp_path: Path) -> None:
    workdir = tmp_path / "new" / "nested"
    with scratch_directory("opsmetrics-bench-", workdir) as scratch:
        assert Path(scratch).parent == workdir
    assert list(workdir.iterdir()) == []


def test_a_workdir_that_is_a_file_is_refused_in_one_line(tmp_path: Path) -> None:
    taken = tmp_path / "taken"
    taken.write_text("")
    with pytest.raises(BenchInputError, match=r"taken/sub: cannot make it a folder \(Not a"):
        scratch_directory("opsmetrics-bench-", taken / "sub")


def test_bench_load_refuses_a_scratch_folder_it_cannot_create_in_one_line(tmp_path: Path) -> None:
    with duckdb.connect() as connection:
        connection.execute(f"copy (select 1 as user_id) to '{tmp_path / 'users.parquet'}'")
    arguments = ["--from", str(tmp_path), "--scale", "tiny", "--scratch", "/dev/null/sub"]
    result = CliRunner().invoke(app, ["bench", "load", *arguments])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "bench load failed: /dev/null/sub: cannot make it a folder (Not a directory)"
    ]
