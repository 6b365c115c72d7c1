"""Retention policy checks, prune's refusals, and the daily benchmark's comparison and
report, on small hand-made DuckDB files (no dbt build)."""

from __future__ import annotations

import json
import re
import subprocess
from datetime import datetime
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from opsmetrics.bench import record
from opsmetrics.bench_daily import (
    BenchDailyError,
    daily_section,
    differing_rows,
    last_day,
)
from opsmetrics.cli import app
from opsmetrics.retention import LOG_TABLE, RetentionError, check_policy, prune
from opsmetrics.settings import duckdb_temp_directory

NEWEST = datetime(2026, 1, 31, 12)


def test_policy_accepts_prunable_tables_and_skips_unset_ones() -> None:
    assert check_policy({"api_requests": 90, "system_metrics": None}, 10) == {"api_requests": 90}


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        ({"events": 365}, "retention_days.events: no retention for this table"),
        ({"transactions": 30}, "retention_days.transactions: no retention"),
        ({"api_requests": 5}, "not a whole number of days above 10"),
        ({"api_requests": "90"}, "not a whole number of days above 10"),
        ({"api_requests": True}, "not a whole number of days above 10"),
    ],
)
def test_policy_rejects_unprunable_tables_and_bad_days(policy: dict, message: str) -> None:
    with pytest.raises(RetentionError, match=message):
        check_policy(policy, 10)


def _warehouse(path: Path, staged_until: datetime, aggregated_until: datetime) -> Path:
    """raw + base + fct for api_requests: one row a day in January 2026 (noon)."""
    with duckdb.connect(str(path)) as connection:
        for schema in ("raw", "staging", "marts"):
            connection.execute(f"create schema {schema}")
        days = "select timestamp '2026-01-01 12:00' + to_days(cast(i as integer)) as _loaded_at "
        connection.execute(f"create table raw.api_requests as {days} from range(31) t(i)")
        connection.execute(
            f"create table staging.base_platform__api_requests as select * from ({days} "
            f"from range(31) t(i)) where _loaded_at <= '{staged_until}'"
        )
        connection.execute(
            f"create table marts.fct_api_requests as select * from ({days} "
            f"from range(31) t(i)) where _loaded_at <= '{aggregated_until}'"
        )
    return path


def test_prune_deletes_raw_and_staged_rows_older_than_the_policy_and_logs_it(
    tmp_path: Path,
) -> None:
    warehouse = _warehouse(tmp_path / "w.duckdb", NEWEST, NEWEST)
    dry = prune(warehouse, {"api_requests": 20}, dry_run=True)
    assert (dry[0].raw_rows, dry[0].staged_rows) == (10, 10)
    [result] = prune(warehouse, {"api_requests": 20})
    assert result.loaded_before == datetime(2026, 1, 11, 12)
    assert (result.raw_rows, result.staged_rows) == (10, 10)
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        assert connection.execute("select count(*) from raw.api_requests").fetchone()[0] == 21
        assert connection.execute(f"select count(*) from {LOG_TABLE}").fetchone()[0] == 1


@pytest.mark.parametrize(
    ("staged_until", "aggregated_until", "message"),
    [
        (datetime(2026, 1, 30, 12), NEWEST, "are not staged yet; run dbt build"),
        (NEWEST, datetime(2026, 1, 5, 12), "holds loads up to 2026-01-05 12:00:00 only"),
    ],
)
def test_prune_refuses_rows_not_yet_staged_or_aggregated_and_deletes_nothing(
    tmp_path: Path, staged_until: datetime, aggregated_until: datetime, message: str
) -> None:
    warehouse = _warehouse(tmp_path / "w.duckdb", staged_until, aggregated_until)
    with pytest.raises(RetentionError, match=message):
        prune(warehouse, {"api_requests": 20})
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        assert connection.execute("select count(*) from raw.api_requests").fetchone()[0] == 31


def test_prune_of_an_unbuilt_warehouse_is_one_line_and_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    warehouse = tmp_path / "w.duckdb"
    with duckdb.connect(str(warehouse)) as connection:
        connection.execute("create schema raw")
        connection.execute("create table raw.api_requests as select now() as _loaded_at")
    monkeypatch.setenv("OPSMETRICS_DUCKDB_PATH", str(warehouse))
    result = CliRunner().invoke(app, ["prune"])
    output = " ".join(result.output.split())
    assert result.exit_code == 2
    assert output.startswith("prune failed: staging.base_platform__api_requests does not exist")
    assert "Traceback" not in output


def test_bench_daily_rejects_a_folder_without_a_manifest(tmp_path: Path) -> None:
    with pytest.raises(BenchDailyError, match=r"no manifest\.json"):
        last_day(tmp_path)
    (tmp_path / "manifest.json").write_text(json.dumps({"end_date": "2026-02-30"}))
    with pytest.raises(BenchDailyError, match="no valid end_date"):
        last_day(tmp_path)
    result = CliRunner().invoke(app, ["bench", "daily", "--data", str(tmp_path / "missing")])
    assert result.exit_code == 2
    assert "data set folder not found" in " ".join(result.output.split())


def test_bench_daily_refuses_an_unknown_scale_before_anything_runs(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["bench", "daily", "--scale", "huge", "--workdir", str(tmp_path / "work")]
    )
    output = " ".join(result.output.split())
    assert result.exit_code == 2
    assert output.startswith("bench daily failed:") and "huge" in output
    assert "Traceback" not in output
    assert not (tmp_path / "work").exists()


def test_bench_daily_refuses_a_workdir_it_cannot_create_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text(json.dumps({"end_date": "2026-11-30"}))
    arguments = ["--data", str(tmp_path), "--workdir", "/dev/null/sub"]
    result = CliRunner().invoke(app, ["bench", "daily", *arguments])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "bench daily failed: /dev/null/sub: cannot make it a folder (Not a directory)"
    ]


def _mart_file(path: Path, values: list[float], extra_table: bool = False) -> Path:
    with duckdb.connect(str(path)) as connection:
        connection.execute("create schema marts")
        connection.execute("create table marts.daily (day date, total double)")
        connection.executemany(
            "insert into marts.daily values (?, ?)",
            [(f"2026-01-0{i + 1}", v) for i, v in enumerate(values)],
        )
        if extra_table:
            connection.execute("create table marts.only_here as select 1 as x")
    return path


def test_marts_compare_equal_up_to_summation_order_and_count_real_differences(
    tmp_path: Path,
) -> None:
    left = _mart_file(tmp_path / "l.duckdb", [0.1 + 0.2, 5.0, 0.0])
    same = _mart_file(tmp_path / "r.duckdb", [0.3, 5.0, 0.0])
    assert differing_rows(left, same) == {"marts.daily": 0}
    other = _mart_file(tmp_path / "o.duckdb", [0.3, 5.001, 0.0], extra_table=True)
    assert differing_rows(left, other) == {"marts.daily": 2, "marts.only_here": 1}


def test_the_comparison_keeps_the_profiles_memory_limit_and_spills_beside_the_warehouse(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    left = _mart_file(tmp_path / "l.duckdb", [1.0])
    right = _mart_file(tmp_path / "r.duckdb", [1.0])
    monkeypatch.setenv("OPSMETRICS_DUCKDB_MEMORY_LIMIT", "512MB")
    settings: list[tuple[str, str]] = []
    connect = duckdb.connect

    def spy(*args: object, **kwargs: object) -> duckdb.DuckDBPyConnection:
        connection = connect(*args, **kwargs)
        settings.append(
            connection.execute(
                "select current_setting('memory_limit'), current_setting('temp_directory')"
            ).fetchone()
        )
        return connection

    monkeypatch.setattr(duckdb, "connect", spy)
    assert differing_rows(left, right) == {"marts.daily": 0}
    assert settings == [("488.2 MiB", str(duckdb_temp_directory(left)))]


def test_daily_section_reports_the_share_and_equality(tmp_path: Path) -> None:
    run = {
        "wall_seconds": 10.0,
        "dbt_seconds": 8.0,
        "peak_rss_mib": 900,
        "summary": {},
        "slowest": [["fct_api_requests", 2.0]],
    }
    result = {
        "benchmark": "daily",
        "scale": "tiny",
        "date": "2026-11-30 22:00 UTC",
        "last_day": "2026-11-29",
        "history": run,
        "load": {"wall_seconds": 1.5, "peak_rss_mib": 300},
        "loaded_rows": 1234,
        "daily": {**run, "wall_seconds": 0.5, "dbt_seconds": 0.4},
        "nothing_new": {**run, "wall_seconds": 0.3, "dbt_seconds": 0.2},
        "full": run,
        "full_peak_disk_mib": 2345,
        "tables_compared": 3,
        "differing": {},
        "duckdb_memory_limit": "3GB",
        "machine": {"cores (nproc)": "2"},
    }
    doc = tmp_path / "benchmarks.md"
    record(result, doc, render=daily_section)
    text = doc.read_text()
    assert "## daily, scale tiny" in text
    assert "**0.050** of the wall time (0.050 of dbt time)" in text
    assert "all 3 tables of marts and intermediate are row-equal" in text
    assert "measured while other jobs ran" in text
    assert "| load of the last day | 1.5 s |" in text
    assert "| the same build again, nothing delivered | 0.3 s | 0.2 s | 900 MiB |" in text
    assert "nothing delivered the same build takes **0.030** of the full refresh" in text
    assert "spill beside it): **2,345 MiB**" in text


def test_a_failing_benchmark_step_is_one_line(tmp_path: Path) -> None:
    from opsmetrics.bench_daily import BenchRunError, _step

    def failing() -> None:
        raise subprocess.CalledProcessError(1, "dbt build")

    with pytest.raises(BenchRunError, match=r"^daily dbt build failed \(exit code 1\)$"):
        _step("daily dbt build", failing)


def test_a_finished_benchmark_step_says_how_long_it_took(capsys: pytest.CaptureFixture) -> None:
    from opsmetrics.bench_daily import _step

    assert _step("load of the last day", lambda: 42) == 42
    assert re.fullmatch(r"load of the last day: \d+\.\d s\n", capsys.readouterr().err)


def test_the_scheduled_build_runs_data_tests_and_leaves_unit_tests_to_ci(monkeypatch) -> None:
    import opsmetrics.dbt_invoke as dbt_invoke

    calls: list[list[str]] = []
    monkeypatch.setattr(dbt_invoke, "run_dbt", lambda args, target: calls.append(args))
    monkeypatch.setattr(dbt_invoke, "summarise", lambda _: dbt_invoke.DbtSummary(3, 0, 0, 0, 0))
    for options in ([], ["--full-refresh"]):
        outcome = CliRunner().invoke(app, ["build", *options])
        assert outcome.exit_code == 0, outcome.output
    assert calls == [
        ["build", "--exclude-resource-type", "unit_test"],
        ["build", "--full-refresh", "--exclude-resource-type", "unit_test"],
    ]


def test_bench_daily_times_the_scheduled_build_against_the_same_full_refresh(
    tmp_path: Path, monkeypatch
) -> None:
    """The daily build and both full refreshes leave out the same nodes (unit tests), so
    the ratio compares like with like."""
    import opsmetrics.bench_daily as bench_daily
    from opsmetrics.bench import DbtRun

    data = tmp_path / "data"
    data.mkdir()
    (data / "manifest.json").write_text(json.dumps({"end_date": "2026-11-30"}))
    builds: list[list[str]] = []

    def dbt_child(args: list[str], warehouse: Path) -> DbtRun:
        builds.append(args)
        return DbtRun(1.0, 1.0, 1, {}, [("fct_events", 0.5)])

    monkeypatch.setattr(bench_daily, "split_by_loaded_at", lambda *args, **kwargs: None)
    monkeypatch.setattr(bench_daily, "_load_child", lambda *_: (0.1, 1.0, 'LOADED {"t": 2}'))
    monkeypatch.setattr(bench_daily, "_run_dbt_child", dbt_child)
    monkeypatch.setattr(bench_daily, "differing_rows", lambda *_: {"marts.x": 0})
    bench_daily.bench_daily("tiny", data, workdir=tmp_path, doc=tmp_path / "benchmarks.md")
    excluded = ["--exclude-resource-type", "unit_test"]
    assert builds == [
        ["build", *excluded, "--full-refresh"],
        ["build", *excluded],
        ["build", *excluded],
        ["build", *excluded, "--full-refresh"],
    ]
