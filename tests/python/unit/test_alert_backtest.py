"""The backtest's scoring on a hand-made mart: an episode on a planted incident's slice is
true, one elsewhere is false, a missed incident lowers recall, and a disabled rule is
scored apart from the totals."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from opsmetrics import PROJECT_DIR
from opsmetrics.alerts.backtest import (
    alerts_section,
    backtest,
    bench_alerts,
    detectable,
    planted_anomalies,
)
from opsmetrics.alerts.evaluate import Context
from opsmetrics.alerts.policies import load_policies
from opsmetrics.alerts.rules import Rule
from opsmetrics.alerts.source import Catalogue
from opsmetrics.alerts.warehouse import Warehouse

HOURS = 24 * 3


def hourly_rule(rule_id: str, enabled: bool = True) -> Rule:
    return Rule.model_validate(
        {
            "id": rule_id,
            "metric": "error_rate",
            "source": {
                "table": "marts.fct_errors_hourly",
                "time_column": "hour_start",
                "numerator": "errors",
                "slice_column": "service",
            },
            "slice": {"name": "service"},
            "grain": "1h",
            "condition": {"kind": "threshold", "op": ">=", "value": 3},
            "severity": "high",
            "enabled": enabled,
        }
    )


@pytest.fixture
def context(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Context:
    """Three days of hourly errors for services a and b: 0 errors, except 5 errors at
    2025-01-02 10:00 on a (inside the planted incident) and at 2025-01-03 04:00 on b.
    The footprint tables: a's requests, 20 from 10:10 on 2025-01-02 and 14 from 02:00:00 on
    2025-01-01 (one a second); b's, 10 at 12:00 on 2025-01-02 of which 5 server errors,
    and 5,000 a month before with 10 errors (a 0.2 % rate); one CPU sample of a host of b
    at 2025-01-03 04:30."""
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as connection:
        connection.execute("create schema marts")
        connection.execute(
            "create table marts.fct_errors_hourly as "
            "select service, timestamp '2025-01-01' + to_hours(hour) as hour_start, "
            "case when (service = 'a' and hour = 34) or (service = 'b' and hour = 52) "
            "then 5 else 0 end as errors "
            f"from range({HOURS}) as hours(hour), (values ('a'), ('b')) as services(service)"
        )
        connection.execute(
            "create table marts.fct_api_requests as "
            "select 'a' as service, timestamp '2025-01-02 10:10' + to_seconds(i) as requested_at, "
            "false as is_server_error from range(20) as r(i) union all "
            "select 'a', timestamp '2025-01-01 02:00' + to_seconds(i), false from range(14) r(i) "
            "union all select 'b', timestamp '2025-01-02 12:00' + to_seconds(i), i < 5 "
            "from range(10) as r(i) union all "
            "select 'b', timestamp '2024-12-01', i < 10 from range(5000) as r(i)"
        )
        connection.execute("create schema staging")
        connection.execute(
            "create table staging.stg_platform__system_metrics as select 'b' as service, "
            "'b-01' as host, 'cpu_utilization' as metric_name, 50.0 as metric_value, "
            "timestamp '2025-01-03 04:30' as sampled_at"
        )
    monkeypatch.setenv("OPSMETRICS_DUCKDB_PATH", str(path))
    warehouse = Warehouse("duckdb", read_only=True)
    policies = load_policies(PROJECT_DIR / "alerts" / "policies.yml")
    return Context(warehouse, Catalogue(warehouse, []), {}, policies)


def planted(service: str, start: str, end: str) -> dict:
    return {
        "kind": "error_burst",
        "metrics": ["error_rate", "cpu_utilization"],
        "slice_name": "service",
        "slice_value": service,
        "start": start,
        "end": end,
    }


def test_episodes_are_scored_against_the_planted_windows_of_their_slice(
    context: Context,
) -> None:
    manifest = {
        "end_date": "2025-01-03",
        "planted_anomalies": [
            planted("a", "2025-01-02T10:05:00Z", "2025-01-02T10:40:00Z"),
            planted("a", "2025-01-01T02:00:00Z", "2025-01-01T02:20:00Z"),  # 13 requests
        ],
    }
    rules = [hourly_rule("errors_burst"), hourly_rule("errors_burst_off", enabled=False)]
    scores = backtest(context, rules, manifest)
    total = scores["all"]
    assert (total.episodes, total.true_episodes) == (2, 1)
    assert (total.in_scope, total.detected) == (2, 1)
    assert total.precision == 0.5 and total.recall == 0.5
    assert total.missed == ["error_burst"] and total.undetectable == []
    # clean: every hour but a's two per incident (its hour and the one-period grace);
    # b's 5 errors are the one false firing hour among them
    assert total.clean_periods == 2 * HOURS - 4 and total.false_periods == 1
    disabled = scores["threshold (disabled)"]
    assert disabled.rules == {"errors_burst_off"} and disabled.episodes == 2
    assert scores["threshold"].rules == {"errors_burst"}
    context.warehouse.close()


def test_a_data_folder_without_manifest_or_of_another_scale_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"no manifest\.json"):
        bench_alerts("medium", 42, None, build=False, manifest_path=None, data=tmp_path)
    (tmp_path / "manifest.json").write_text('{"scale": "small"}')
    with pytest.raises(ValueError, match="holds scale 'small' data, not 'medium'"):
        bench_alerts("medium", 42, None, build=False, manifest_path=None, data=tmp_path)


def test_incidents_the_data_cannot_show_are_left_out_of_recall_and_listed(
    context: Context,
) -> None:
    """Detectable: 14+ requests of the service in the window, or a CPU sample of one of its
    hosts, or server errors far beyond the service's rate (5 of 10 at 0.2 %); business
    anomalies always. a's second incident (13 requests, no sample) is not detectable, so
    it leaves recall and is listed instead."""
    incidents = [
        planted("a", "2025-01-02T10:05:00Z", "2025-01-02T10:40:00Z"),  # 20 requests
        planted("a", "2025-01-01T02:00:01Z", "2025-01-01T02:20:00Z"),  # 13 requests
        planted("b", "2025-01-03T04:00:00Z", "2025-01-03T04:45:00Z"),  # a CPU sample
        planted("b", "2025-01-01T04:00:00Z", "2025-01-01T04:45:00Z"),  # nothing
        {**planted("b", "2025-01-02T00:00:00Z", "2025-01-03T00:00:00Z"),
         "kind": "revenue_drop", "slice_name": "total", "slice_value": "all"},
        planted("b", "2025-01-02T12:00:00Z", "2025-01-02T12:30:00Z"),  # 5 errors of 10
        planted("b", "2025-01-02T12:00:05Z", "2025-01-02T12:30:00Z"),  # 0 errors of 5
    ]  # fmt: skip
    found = detectable(context.warehouse, planted_anomalies({"planted_anomalies": incidents}))
    assert found == [True, False, True, False, True, True, False]
    manifest = {"end_date": "2025-01-03", "planted_anomalies": incidents[:4]}
    total = backtest(context, [hourly_rule("errors_burst")], manifest)["all"]
    assert (total.in_scope, total.detected, total.recall) == (2, 2, 1.0)
    assert total.undetectable == ["error_burst", "error_burst"]
    assert total.false_periods == 0  # b's 5 errors fall in its own (detectable) incident
    context.warehouse.close()


def test_the_benchmark_section_lists_what_the_data_cannot_show() -> None:
    score = {"rules": ["r"], "episodes": 10, "true_episodes": 9, "in_scope": 9, "detected": 9,
             "clean_periods": 100, "false_periods": 1, "missed": [],
             "undetectable": ["error_burst", "latency_spike", "error_burst"]}  # fmt: skip
    result = {"scale": "small", "date": "2026-12-01", "seed": 42, "end_date": "2025-06-30",
              "planted": 12, "backtest_seconds": 1.0, "machine": {"cores": 2},
              "scores": {"threshold": score, "all": score}}  # fmt: skip
    section = alerts_section(result)
    assert "recall 1.00, precision 0.90" in section and "met" in section
    assert "cannot show (left out of recall): 2 error_burst, 1 latency_spike" in section
    assert "recall over every planted anomaly 0.75" in section
