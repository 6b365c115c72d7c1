"""`opsmetrics bench build --target spark`: bad input ends in one line before anything
runs; peak memory counts every process a child starts (a JVM); a time limit stops the
child and what it started; a stopped Spark build is recorded with where it stopped."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from opsmetrics.bench import ChildFailed, _run_child, record
from opsmetrics.bench_spark import BENCHMARK, spark_build_section, where_dbt_stopped
from opsmetrics.cli import app

RUN = {
    "wall_seconds": 100.0,
    "dbt_seconds": 90.0,
    "peak_rss_mib": 1000,
    "summary": {"passed": 700, "warned": 5, "failed": 0, "errored": 0, "skipped": 0},
    "slowest": [["fct_api_requests", 12.0]],
}
LOAD = {"wall_seconds": 5.0, "peak_rss_mib": 300, "rows": {"api_requests": 10}}
DBT_LOG = """\
01:00:01  Running with dbt=1.11.16
01:00:09  322 of 748 OK created sql table model marts.fct_x ........ [OK in 3.1s]
01:00:10  323 of 748 START sql incremental model marts.fct_api_requests ........ [RUN]
01:00:50  Database Error in model fct_api_requests (models/marts/fct_api_requests.sql)
"""


def _result(spark_build: dict) -> dict:
    return {
        "benchmark": BENCHMARK,
        "scale": "small",
        "date": "2026-12-01 01:00 UTC",
        "machine": {"cores (nproc)": "2"},
        "duckdb": {"load": LOAD, "build": RUN},
        "spark": {"load": LOAD, "build": spark_build},
        "rows": {"api_requests": 10},
        "spark_settings": {"spark.driver.memory": "8g"},
        "duckdb_memory_limit": "8GB",
    }


def _bench(*arguments: str) -> tuple[int, list[str]]:
    result = CliRunner().invoke(app, ["bench", "build", *arguments])
    return result.exit_code, result.output.strip().splitlines()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            ["--target", "postgres"],
            "unknown target 'postgres': bench build runs on duckdb or spark",
        ),
        (["--target", "spark", "--scale", "huge"], "unknown scale 'huge': choose one of tiny"),
        (["--scale", "huge"], "unknown scale 'huge': choose one of tiny"),
        (["--target", "spark", "--data", "/nonexistent"], "/nonexistent: no manifest.json"),
        (
            ["--target", "spark", "--scale", "tiny", "--workdir", "/dev/null/sub"],
            "/dev/null/sub: cannot make it a folder (Not a directory)",
        ),
    ],
)
def test_bad_input_ends_in_one_line_before_anything_runs(
    arguments: list[str], message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def ran(*_: object, **__: object) -> None:
        raise AssertionError("a step ran on bad input")

    # Generating, building and Spark's load run as child processes; DuckDB's load runs here.
    monkeypatch.setattr(subprocess, "Popen", ran)
    monkeypatch.setattr("opsmetrics.load.load_duckdb", ran)
    code, lines = _bench(*arguments)
    assert code == 2
    assert len(lines) == 1 and lines[0].startswith("bench build failed:"), lines
    assert message in lines[0]


GRANDCHILDREN = """
import subprocess, sys
code = "x = bytearray(200 * 2**20); x[::4096] = b'1' * len(x[::4096]); import time; time.sleep(2)"
children = [subprocess.Popen([sys.executable, '-c', code]) for _ in range(2)]
for child in children:
    child.wait()
"""


def test_peak_memory_of_a_process_tree_counts_processes_running_together() -> None:
    # Measured from a fresh, small process: a child forked from a big one (pytest after
    # hundreds of tests) starts with the parent's pages, which os.wait4's peak counts.
    measure = (
        "from opsmetrics.bench import _run_child\n"
        f"code = {GRANDCHILDREN!r}\n"
        "print(_run_child(code)[1], _run_child(code, process_tree=True)[1])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", measure], capture_output=True, text=True, check=True
    )
    own_peak, tree_peak = map(float, result.stdout.split())
    # Each grandchild holds 200 MiB; os.wait4 sees at most one of them at a time.
    assert own_peak < 300
    assert tree_peak >= 400


def test_a_time_limit_stops_the_child_and_what_it_started() -> None:
    code = "import subprocess, sys, time\nsubprocess.Popen(['sleep', '60'])\ntime.sleep(60)\n"
    started = time.perf_counter()
    with pytest.raises(ChildFailed) as failure:
        _run_child(code, time_limit=1)
    # The grandchild shares the child's stdout: reading it ends only once both are gone.
    assert time.perf_counter() - started < 20
    assert failure.value.timed_out
    assert failure.value.wall_seconds >= 1


def test_a_failing_child_is_not_a_time_out() -> None:
    with pytest.raises(ChildFailed) as failure:
        _run_child("raise SystemExit(3)", time_limit=60)
    assert failure.value.returncode == 3 and not failure.value.timed_out


def test_where_dbt_stopped_names_the_last_node_started_and_the_error() -> None:
    where = where_dbt_stopped(DBT_LOG)
    assert where.startswith(
        "node 323 of 748 started last (sql incremental model marts.fct_api_requests)"
    )
    assert "Database Error in model fct_api_requests" in where
    assert where_dbt_stopped("") == "before dbt started its first node"


def test_the_section_compares_spark_with_duckdb(tmp_path: Path) -> None:
    doc = tmp_path / "benchmarks.md"
    record(_result({**RUN, "wall_seconds": 250.0, "peak_rss_mib": 3000}), doc, spark_build_section)
    text = doc.read_text()
    assert "## spark build, scale small" in text
    assert "Spark ÷ DuckDB: **2.5x** the build's wall time, **3.0x** its peak memory" in text
    assert "spark.driver.memory 8g" in text


def test_a_stopped_spark_build_is_recorded_with_where_it_stopped(tmp_path: Path) -> None:
    stopped = {
        "wall_seconds": 3600.0,
        "peak_rss_mib": 9000,
        "stopped": "stopped at the time limit (3600 s)",
        "where": where_dbt_stopped(DBT_LOG),
    }
    section = spark_build_section(_result(stopped))
    assert "**stopped at the time limit (3600 s)** | 3600.0 s | | 9000 MiB |" in section
    assert "Spark's build did not complete: node 323 of 748 started last" in section
    assert "÷" not in section
