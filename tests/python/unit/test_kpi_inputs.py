"""Issue 16's inputs without a warehouse build: planted slow scale-ups and manual entries
in the generated data, the manual-metrics CSV loader, the metric tree's rules and the
trailing-window export SQL."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from opsmetrics.cli import app
from opsmetrics.manual_inputs import ManualInputError, load_manual_csv
from opsmetrics.semantic import (
    Kpi,
    MetricTable,
    TrailingWindow,
    create_table_sql,
    metric_tables,
    render_metric_tree,
    tree_problems,
)

HEADER = "metric_name,period_start,period_end,value,unit,source,entered_by\n"
GOOD = HEADER + (
    "market_size,2025-01-01,2025-03-31,4250000,USD,Analyst report,ana\n"
    "market_size,2025-04-01,2025-06-30,4500000,USD,Analyst report,ana\n"
)


def test_planted_slow_scale_ups_are_the_only_late_ones(clean) -> None:
    rows = clean.query(
        "select event_id, direction, epoch(cast(capacity_ready_at as timestamptz))"
        " - epoch(cast(triggered_at as timestamptz)) from scaling_events"
    )
    late = {event_id for event_id, direction, seconds in rows if direction == "up" and seconds > 30}
    planted = set(clean.manifest["planted"]["slow_scale_ups"])
    assert len(planted) >= 2
    assert late == planted


def test_every_quarter_of_history_has_a_market_size(clean) -> None:
    quarters = clean.query(
        "select count(distinct period_start) from manual_metrics where metric_name = 'market_size'"
        " and cast(period_end as date) >= date '2025-06-30' - interval 182 day"
    )[0][0]
    assert quarters >= 3


def _write(tmp_path: Path, text: str, name: str = "manual.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _rows(warehouse: Path) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        return connection.execute(
            "select metric_name, period_start, value, _loaded_at from raw.manual_metrics"
            " order by period_start, _loaded_at"
        ).fetchall()


@pytest.fixture
def manual_warehouse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "manual.duckdb"
    monkeypatch.setenv("OPSMETRICS_DUCKDB_PATH", str(path))
    return path


def test_manual_csv_reloads_are_idempotent_and_corrections_are_appended(
    tmp_path: Path, manual_warehouse: Path
) -> None:
    csv = _write(tmp_path, GOOD)
    assert load_manual_csv(csv, loaded_at=datetime(2025, 7, 1)) == 2
    assert load_manual_csv(csv, loaded_at=datetime(2025, 7, 2)) == 0
    corrected = _write(tmp_path, GOOD.replace("4500000", "4600000"))
    assert load_manual_csv(corrected, loaded_at=datetime(2025, 7, 3)) == 1
    rows = _rows(manual_warehouse)
    assert [(name, start, value) for name, start, value, _ in rows] == [
        ("market_size", "2025-01-01", 4250000.0),
        ("market_size", "2025-04-01", 4500000.0),
        ("market_size", "2025-04-01", 4600000.0),
    ]
    assert rows[-1][3] == datetime(2025, 7, 3)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (HEADER.replace(",entered_by", "") + "m,2025-01-01,2025-03-31,1,USD,r\n", "missing column"),
        (HEADER.strip() + ",note\nm,2025-01-01,2025-03-31,1,USD,r,a,x\n",
         r"unknown column\(s\) note"),
        (HEADER + "m,2025-01-01,2025-03-31,1,USD,r,a\nm,2025-04-01,2025-06-30,lots,USD,r,a\n",
         "line 3: value 'lots' is not a double"),
    ],
)  # fmt: skip
def test_bad_manual_csv_fails_with_one_line_and_loads_nothing(
    tmp_path: Path, manual_warehouse: Path, text: str, message: str
) -> None:
    load_manual_csv(_write(tmp_path, GOOD, "first.csv"), loaded_at=datetime(2025, 7, 1))
    with pytest.raises(ManualInputError, match=message):
        load_manual_csv(_write(tmp_path, text))
    assert len(_rows(manual_warehouse)) == 2


def test_manual_metrics_load_command_exits_2_on_bad_input(
    tmp_path: Path, manual_warehouse: Path
) -> None:
    runner = CliRunner()
    missing = runner.invoke(app, ["manual-metrics", "load", str(tmp_path / "nope.csv")])
    assert missing.exit_code == 2
    assert "no such file" in " ".join(missing.output.split())  # rich wraps long lines
    good = runner.invoke(app, ["manual-metrics", "load", str(_write(tmp_path, GOOD))])
    assert good.exit_code == 0, good.output
    assert "2 row(s) inserted" in " ".join(good.output.split())


def _kpi(name: str, **meta: object) -> Kpi:
    return Kpi(name, name.title(), "simple", "test", "", {"unit": "x", **meta}, "")


def test_metric_tree_needs_one_north_star_and_parents_two_levels_deep() -> None:
    kpis = [
        _kpi("star", is_north_star=True),
        _kpi("key_result", parent="star"),
        _kpi("input", parent="key_result"),
    ]
    assert tree_problems(kpis) == []
    assert render_metric_tree(kpis) == [
        "- **Star** (`star`, x)",
        "  - **Key_Result** (`key_result`, x)",
        "    - **Input** (`input`, x)",
    ]
    assert tree_problems([*kpis, _kpi("too_deep", parent="input")]) == [
        "too_deep: parent 'input' is neither the north star 'star' nor one of its key results"
    ]
    assert tree_problems([*kpis, _kpi("orphan")]) == ["orphan: missing parent"]
    assert tree_problems([*kpis, _kpi("lost", parent="nothing")]) == [
        "lost: parent 'nothing' is not a KPI"
    ]
    assert tree_problems([*kpis, _kpi("second", is_north_star=True)]) == [
        "metric tree: 2 north stars (star, second), need one"
    ]
    assert tree_problems(kpis[1:]) == ["metric tree: 0 north stars (none), need one"]


def test_trailing_window_export_keeps_rows_within_the_window_of_the_latest() -> None:
    table = MetricTable("q", "metrics", "q", ("a",), TrailingWindow("metric_time__day", "2 days"))
    with duckdb.connect() as connection:
        connection.execute("create schema metrics")
        query = (
            "select * from (values (date '2025-06-01', 1), (date '2025-06-02', 2),"
            " (date '2025-06-03', null), (date '2025-06-04', 4), (date '2025-06-05', null))"
            " as t(metric_time__day, a)"
        )
        connection.execute(create_table_sql(table, query))
        kept = connection.execute("select * from metrics.q order by 1").fetchall()
    assert [str(day) for day, _ in kept] == ["2025-06-04"]


def test_a_malformed_trailing_window_is_rejected() -> None:
    manifest = {
        "saved_queries": {
            "q": {
                "name": "q",
                "config": {"meta": {"trailing_window": {"column": "t", "length": "soon"}}},
                "query_params": {"metrics": ["a"]},
            }
        }
    }
    with pytest.raises(ValueError, match="trailing_window needs"):
        metric_tables(manifest)
