"""The `spark` target's bad input and unsupported commands end in one line, exit code 2,
before any Spark (or Java) is started: a delivery breaking the contract, an unknown
target, and the semantic layer's export, which MetricFlow cannot run on Spark."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from typer.testing import CliRunner

from opsmetrics import PROJECT_DIR
from opsmetrics.cli import app
from opsmetrics.contract import raw_tables
from opsmetrics.settings import PROJECT_DIR_ENV


def _run(*arguments: str) -> tuple[int, list[str]]:
    """Exit code and output lines, without the warnings about tables the delivery lacks."""
    result = CliRunner().invoke(app, list(arguments))
    lines = result.output.strip().splitlines()
    return result.exit_code, [line for line in lines if not line.startswith("warning:")]


def _csv(folder: Path, table: str, columns: list[str], row: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / f"{table}.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        writer.writerow(row)
    return folder


def test_a_file_without_a_contract_column_fails_in_one_line(tmp_path: Path) -> None:
    columns = [c for c in raw_tables()["users"].column_names if c not in ("email", "_loaded_at")]
    delivery = _csv(tmp_path / "delivery", "users", columns, ["x"] * len(columns))
    code, lines = _run("load", "--from", str(delivery), "--target", "spark")
    assert code == 2
    assert len(lines) == 1
    assert "users.csv: lacks contract column(s): email" in lines[0]


def test_a_value_breaking_the_contract_names_its_line(tmp_path: Path) -> None:
    columns = raw_tables()["api_requests"].column_names
    row = ["ten" if c == "status_code" else "2025-06-01 00:00:00" for c in columns]
    delivery = _csv(tmp_path / "delivery", "api_requests", columns, row)
    code, lines = _run("load", "--from", str(delivery), "--target", "spark")
    assert code == 2
    assert len(lines) == 1
    assert "api_requests.csv, line 2, column status_code: 'ten' is not" in lines[0]


def test_a_missing_folder_fails_in_one_line(tmp_path: Path) -> None:
    code, lines = _run("load", "--from", str(tmp_path / "nowhere"), "--target", "spark")
    assert code == 2
    assert len(lines) == 1 and lines[0].startswith("load failed:")


def test_an_unknown_target_is_refused_naming_the_targets(tmp_path: Path) -> None:
    code, lines = _run("load", "--from", str(tmp_path), "--target", "sparkk")
    assert code == 2
    assert lines == ["load failed: unknown target 'sparkk': choose one of duckdb, postgres, spark"]


def test_export_metrics_says_metricflow_cannot_query_spark() -> None:
    code, lines = _run("export-metrics", "--target", "spark")
    assert code == 2
    assert len(lines) == 1
    assert "semantic layer cannot run on spark" in lines[0]
    assert "dbt-metricflow 0.15" in lines[0]


def test_spark_paths_are_absolute_from_the_project_wherever_dbt_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run from another folder, the profile's Spark folder and log4j configuration are
    the project's (a relative log4j path was read from the working directory)."""
    from opsmetrics.load_spark import spark_settings

    monkeypatch.setenv(PROJECT_DIR_ENV, str(PROJECT_DIR))
    monkeypatch.delenv("OPSMETRICS_SPARK_DIR", raising=False)
    monkeypatch.delenv("OPSMETRICS_SPARK_LOG4J", raising=False)
    monkeypatch.chdir(tmp_path)
    options = spark_settings()["spark.driver.extraJavaOptions"].split()
    log4j = Path(next(o for o in options if o.startswith("-Dlog4j.")).split("=", 1)[1])
    assert log4j == PROJECT_DIR / "scripts" / "spark" / "log4j2.properties"
    assert log4j.is_file()
    assert f"-Dderby.system.home={PROJECT_DIR / 'warehouse' / 'spark'}" in options


def test_whole_stage_code_generation_is_off_unless_asked_for(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With it on, Spark 4.3 fails base_app__users' unit test (docs/decisions.md, Issue
    15 session 6): off by default, on with OPSMETRICS_SPARK_CODEGEN=true."""
    from opsmetrics.load_spark import spark_settings

    monkeypatch.delenv("OPSMETRICS_SPARK_CODEGEN", raising=False)
    assert spark_settings()["spark.sql.codegen.wholeStage"] == "false"
    monkeypatch.setenv("OPSMETRICS_SPARK_CODEGEN", "true")
    assert spark_settings()["spark.sql.codegen.wholeStage"] == "true"
