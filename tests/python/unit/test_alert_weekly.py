"""The week grain (`1w`): a KPI defined only per ISO week (feature adoption) is read from
its weekly metric table and judged on the latest complete Monday-to-Sunday week."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest

from opsmetrics import PROJECT_DIR
from opsmetrics.alerts import conditions
from opsmetrics.alerts.evaluate import Context, evaluate_rule, latest_complete, period_offset
from opsmetrics.alerts.policies import load_policies
from opsmetrics.alerts.rules import registry_rule
from opsmetrics.alerts.source import Catalogue
from opsmetrics.alerts.warehouse import Warehouse
from opsmetrics.semantic import MetricTable

METRIC = "feature_adoption_rate_weekly"
LEVELS = {
    "target": 0.35, "warning_threshold": 0.2, "critical_threshold": 0.1,
    "direction": "higher_is_better",
}  # fmt: skip


@pytest.mark.parametrize(
    ("as_of", "week"),
    [
        ("2025-01-08 15:00", "2024-12-30"),  # a Wednesday: the week before is the last ended
        ("2025-01-06 00:00", "2024-12-30"),  # Monday midnight: that week has just ended
        ("2025-01-05 23:59", "2024-12-23"),  # Sunday night: the week is not over yet
    ],
)
def test_the_latest_complete_week_starts_on_a_monday(as_of: str, week: str) -> None:
    assert latest_complete("1w", pd.Timestamp(as_of)) == pd.Timestamp(week)
    assert period_offset("1w", pd.Timestamp(week), 1) == pd.Timestamp(week) + pd.Timedelta(days=7)


def test_weekly_series_are_regular_from_monday_to_monday() -> None:
    frame = pd.DataFrame(
        {"period": pd.to_datetime(["2024-12-16", "2024-12-30"]), "value": [0.3, 0.25]}
    )
    series = conditions.regular_series(frame, "1w", pd.Timestamp("2025-01-06"))
    assert list(series.index) == list(pd.date_range("2024-12-16", "2025-01-06", freq="7D"))
    assert series.isna().tolist() == [False, True, False, True]


@pytest.fixture
def context(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Context:
    """metrics.alerting_weekly as export-metrics writes it: three weeks, the last one
    (starting Monday 2024-12-30) below the critical level."""
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as connection:
        connection.execute("create schema metrics")
        connection.execute(
            f"create table metrics.alerting_weekly as select * from (values "
            f"(timestamp '2024-12-16', 0.31), (timestamp '2024-12-23', 0.28), "
            f"(timestamp '2024-12-30', 0.08)) as weeks(metric_time__week, {METRIC})"
        )
    monkeypatch.setenv("OPSMETRICS_DUCKDB_PATH", str(path))
    warehouse = Warehouse("duckdb", read_only=True)
    tables = [MetricTable("alerting_weekly", "metrics", "alerting_weekly", (METRIC,))]
    policies = load_policies(PROJECT_DIR / "alerts" / "policies.yml")
    return Context(warehouse, Catalogue(warehouse, tables), {METRIC: LEVELS}, policies)


def test_a_weekly_kpi_gets_its_registry_rule_at_the_week_grain_and_fires(
    context: Context,
) -> None:
    assert context.catalogue.natural(METRIC) == ("1w", None)
    rule = registry_rule(METRIC, "1w", None)
    with context.warehouse:
        findings, note = evaluate_rule(context, rule, pd.Timestamp("2025-01-08 15:00"))
        earlier, _ = evaluate_rule(context, rule, pd.Timestamp("2025-01-02 09:00"))
    assert note is None
    judged, no_data = findings
    assert (judged.outcome.status, judged.severity, judged.outcome.observed) == (
        "firing", "critical", pytest.approx(0.08),
    )  # fmt: skip
    assert (judged.window_start, judged.window_end) == (
        pd.Timestamp("2024-12-30"), pd.Timestamp("2025-01-06"),
    )  # fmt: skip
    assert no_data.outcome.status == "ok"
    # a week earlier the latest complete week (2024-12-23) was inside its levels
    assert earlier[0].outcome.status == "ok" and earlier[0].outcome.observed == pytest.approx(0.28)
