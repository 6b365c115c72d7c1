"""`opsmetrics forecast` end to end on the tiny warehouse (DuckDB, and Postgres when a
server is configured): every configured series gets rows, intervals are ordered, a
rerun replaces its own rows, bad input exits 2 with one clear line."""

from __future__ import annotations

import itertools
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import psycopg2
import pytest
from typer.testing import CliRunner

from opsmetrics.cli import app
from opsmetrics.forecast.run import NOT_ENOUGH_HISTORY, OK, run_forecast
from opsmetrics.forecast.series import SERIES
from opsmetrics.forecast.warehouse import COLUMNS

BOUNDS = ["lower_95", "lower_80", "point", "upper_80", "upper_95"]


def expected_slices(query: object) -> set[tuple[str, str, str]]:
    """(metric, slice_name, slice_value) of every configured series the marts hold,
    computed from the marts independently of the forecast run."""
    expected = set()
    for spec in SERIES:
        frame = query(f"select distinct slice_value from ({spec.sql}) as series")
        expected |= {(spec.metric, spec.slice_name, str(v)) for v in frame["slice_value"]}
    return expected


def check_forecasts(forecasts: pd.DataFrame, expected: set[tuple[str, str, str]]) -> None:
    found = set(forecasts[["metric", "slice_name", "slice_value"]].itertuples(index=False))
    assert found == expected
    ok = forecasts[forecasts["status"] == OK]
    assert len(ok) and not ok[[*BOUNDS, "horizon_day", "forecast_date", "model"]].isna().any().any()
    for lower, upper in itertools.pairwise(BOUNDS):
        assert (ok[lower] <= ok[upper] + 1e-9).all(), (lower, upper)
    short = forecasts[forecasts["status"] == NOT_ENOUGH_HISTORY]
    assert short["point"].isna().all() and short["message"].str.contains("needed").all()
    assert set(forecasts["status"]) <= {OK, NOT_ENOUGH_HISTORY}
    keys = ["metric", "slice_name", "slice_value", "trained_until", "forecast_date"]
    assert not ok.duplicated(keys).any()
    horizons = ok.groupby(["metric", "slice_name"])["horizon_day"].max().to_dict()
    assert horizons[("revenue", "total")] == 30
    assert horizons[("cpu_utilization", "service")] == 90
    assert horizons[("mrr", "total")] == 92


def duckdb_query(path: Path) -> object:
    def query(sql: str) -> pd.DataFrame:
        with duckdb.connect(str(path), read_only=True) as connection:
            return connection.execute(sql).df()

    return query


def test_forecast_writes_every_series_and_a_rerun_replaces_its_rows(tiny_warehouse: Path) -> None:
    run = run_forecast()
    query = duckdb_query(tiny_warehouse)
    forecasts = query("select * from forecasts.metric_forecasts")
    check_forecasts(forecasts, expected_slices(query))
    assert list(forecasts.columns) == [name for name, _ in COLUMNS["metric_forecasts"]]
    assert (forecasts["trained_until"].dt.date == run.trained_until).all()
    crossings = query("select * from forecasts.threshold_crossings")
    capacity = crossings[crossings["metric"] == "queue_depth"]
    assert set(capacity["threshold_kind"]) == {"warning", "critical"}
    assert (capacity["threshold_value"] > 0).all()
    churn = query("select * from forecasts.customer_churn_risk")
    assert len(churn) and churn["churn_probability"].between(0, 1).all()
    assert set(churn["risk_band"]) <= {"high", "medium", "low"}

    counts = {t: len(query(f"select * from forecasts.{t}")) for t in COLUMNS}
    rerun = run_forecast()
    assert rerun.run_at >= run.run_at
    for table, count in counts.items():
        rows = query(f"select * from forecasts.{table}")
        assert len(rows) == count, table
        assert rows["run_at"].nunique() == 1, table

    earlier = run_forecast(as_of=date(2025, 6, 1), metrics=["revenue"])
    assert earlier.trained_until == date(2025, 6, 1)
    runs = query(
        "select trained_until, count(*) as n from forecasts.metric_forecasts "
        "where metric = 'revenue' and slice_name = 'total' group by trained_until"
    )
    assert len(runs) == 2 and (runs["n"] == 30).all()


def test_forecast_cli_prints_headlines(tiny_warehouse: Path) -> None:
    result = CliRunner().invoke(app, ["forecast", "--metric", "mrr", "--metric", "queue_depth"])
    assert result.exit_code == 0, result.output
    assert "MRR at 2025-07-31" in result.output
    assert "series forecast" in result.output


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--metric", "nope"], "unknown metric nope"),
        (["--as-of", "2025-13-01"], "is not a date"),
        (["--as-of", "2030-01-01"], "after the warehouse's last day 2025-06-30"),
        (["--horizon", "0"], "must be between 1"),
        (["--target", "oracle"], "unknown target"),
    ],
)
def test_forecast_bad_input_exits_2_with_one_line(
    tiny_warehouse: Path, arguments: list[str], message: str
) -> None:
    before = duckdb_query(tiny_warehouse)("select count(*) as n from forecasts.metric_forecasts")
    result = CliRunner().invoke(app, ["forecast", *arguments])
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())
    assert "Traceback" not in result.output
    after = duckdb_query(tiny_warehouse)("select count(*) as n from forecasts.metric_forecasts")
    assert before.equals(after)


def test_forecast_on_an_empty_or_missing_warehouse_exits_2(
    tiny_warehouse: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    monkeypatch.setenv("OPSMETRICS_DUCKDB_PATH", str(empty))
    result = CliRunner().invoke(app, ["forecast"])
    assert result.exit_code == 2
    assert "load data and run dbt build first" in " ".join(result.output.split())
    monkeypatch.setenv("OPSMETRICS_DUCKDB_PATH", str(tmp_path / "missing.duckdb"))
    result = CliRunner().invoke(app, ["forecast"])
    assert result.exit_code == 2 and "no warehouse at" in result.output
    assert not (tmp_path / "missing.duckdb").exists()


@pytest.mark.postgres
def test_forecast_on_postgres_matches_the_configured_series(
    tiny_postgres: dict[str, str | int],
) -> None:
    run = run_forecast(target="postgres")

    def query(sql: str) -> pd.DataFrame:
        with psycopg2.connect(**tiny_postgres) as connection, connection.cursor() as cursor:
            cursor.execute(sql)
            names = [column.name for column in cursor.description]
            return pd.DataFrame(cursor.fetchall(), columns=names)

    forecasts = query("select * from forecasts.metric_forecasts")
    for column in BOUNDS:
        forecasts[column] = forecasts[column].astype(float)
    check_forecasts(forecasts, expected_slices(query))
    count = len(forecasts)
    run_forecast(target="postgres")
    assert len(query("select * from forecasts.metric_forecasts")) == count
    assert run.churn is not None and len(query("select * from forecasts.customer_churn_risk"))


def test_demo_forecast_step_prints_the_headlines(
    tiny_warehouse: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from opsmetrics.demo import forecast_step

    assert forecast_step() == 0
    printed = " ".join(capsys.readouterr().out.split())
    assert "MRR at 2025-07-31" in printed and "95 %" in printed
    assert "threshold crossing" in printed


def test_bench_forecast_records_accuracy_for_every_model(
    tiny_warehouse: Path, tmp_path: Path
) -> None:
    from opsmetrics.forecast.backtest import bench_forecast

    doc = tmp_path / "benchmarks.md"
    lines = bench_forecast(scale="tiny", origins=2, doc=doc)
    text = doc.read_text()
    assert "## forecast, scale tiny" in text
    for model in ("| ets |", "| ets_damped |", "| seasonal_naive |", "| chosen |"):
        assert model in text
    assert "95 % coverage chosen ± 2 SE" in text and "baseline AUC" in text
    assert lines[0].startswith("forecast tiny: one full run")
