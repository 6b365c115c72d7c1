"""Every dashboard page in Streamlit's in-process harness (AppTest) on the tiny data's
published snapshot: cards equal `mf query`, thresholds colour them, filters and the
drill-down narrow the rows, missing or empty data is a message, never a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from conftest import ALERT_AND_FORECAST_ROWS, tiny_warehouse_environment, use_warehouse
from rich.console import Console
from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df
from streamlit.testing.v1 import AppTest

import opsmetrics.dashboards
from opsmetrics import PROJECT_DIR
from opsmetrics.dashboards.audiences import REGISTRY
from opsmetrics.dashboards.data import Source
from opsmetrics.dashboards.reader import data_as_of
from opsmetrics.dashboards.report import collect, write_report
from opsmetrics.dashboards.scorecard import STATUS_COLOURS, format_value, kpis_by_name
from opsmetrics.dashboards.terminal import print_kpi_scorecard
from opsmetrics.dbt_invoke import run_dbt
from opsmetrics.semantic import load_manifest

PAGES = Path(opsmetrics.dashboards.__file__).parent / "audience_pages"
MF = Path(sys.executable).parent / "mf"


@pytest.fixture(scope="module")
def mf_answers(
    published_snapshot: Path, tiny_warehouse: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, pd.DataFrame]:
    """`mf query --saved-query` of every page's card table, on the tiny warehouse the
    snapshot was copied from."""
    use_warehouse(tiny_warehouse)
    run_dbt(["parse"])  # the semantic manifest must name this warehouse's relations
    out = tmp_path_factory.mktemp("mf_pages")
    answers = {}
    for audience in REGISTRY.values():
        csv = out / f"{audience.card_table}.csv"
        result = subprocess.run(
            [str(MF), "query", "--saved-query", audience.card_table, "--csv", str(csv)],
            cwd=PROJECT_DIR,
            env=tiny_warehouse_environment(tiny_warehouse),
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        frame = pd.read_csv(csv)
        frame[audience.time_column] = pd.to_datetime(frame[audience.time_column])
        answers[audience.name] = frame
    return answers


def run_page(name: str, snapshot: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("OPSMETRICS_PUBLISHED_PATH", str(snapshot))
    monkeypatch.setenv("OPSMETRICS_TARGET", "duckdb")
    app = AppTest.from_file(str(PAGES / f"{name}.py"), default_timeout=120)
    app.run()
    assert not app.exception, [exception.message for exception in app.exception]
    return app


def cards_of(app: AppTest) -> dict[str, tuple[str, str]]:
    """label → (value text, status badge) of every card on the page."""
    badges = [m.value for m in app.markdown if "-badge[" in m.value]
    values = [(metric.label, metric.value) for metric in app.metric]
    values = [(label, value) for label, value in values if not label.startswith("Firing")]
    assert len(badges) == len(values)
    return {label: (value, badge) for (label, value), badge in zip(values, badges, strict=True)}


@pytest.mark.parametrize("name", list(REGISTRY))
def test_every_card_equals_mf_query_and_the_exported_table(
    name: str, published_snapshot: Path, mf_answers: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    audience = REGISTRY[name]
    kpis = kpis_by_name(load_manifest())
    answer = mf_answers[name]
    headline = answer[answer[audience.cards[0]].notna()]
    latest = headline[audience.time_column].max()
    row = answer[answer[audience.time_column] == latest].iloc[0]
    with duckdb.connect(str(published_snapshot), read_only=True) as connection:
        exported = connection.execute(
            f"select * from metrics.{audience.card_table} where {audience.time_column} = ?",
            [latest.to_pydatetime()],
        ).df()
    cards = cards_of(run_page(name, published_snapshot, monkeypatch))
    assert len(cards) == len(audience.cards)
    for metric in audience.cards:
        kpi = kpis[metric]
        expected = row[metric]
        if pd.isna(expected):
            assert pd.isna(exported[metric].iloc[0])
        else:
            assert float(exported[metric].iloc[0]) == pytest.approx(float(expected), rel=1e-9)
        assert cards[kpi.label][0] == format_value(expected, str(kpi.meta["unit"])), metric


def test_cards_are_coloured_by_their_thresholds_and_direction(
    snapshot_copy, monkeypatch: pytest.MonkeyPatch
) -> None:
    # MRR: target 50000, warning 40000, critical 30000 (higher is better);
    # logo churn: target 2, warning 3, critical 5 (lower is better).
    snapshot = snapshot_copy(
        """
        update metrics.executive_monthly
        set mrr = 35000, logo_churn_rate = 5, nps = 45, uptime_pct = 99.5, cac = 1000,
            revenue = null
        where metric_time__month = (select max(metric_time__month) from metrics.executive_monthly)
        """
    )
    cards = cards_of(run_page("executive", snapshot, monkeypatch))
    expected = {
        "MRR": ("$35,000", "warning"),
        "Logo churn rate %": ("5.00 %", "critical"),
        "Net Promoter Score": ("45", "ok"),
        "Uptime %": ("99.50 %", "warning"),
        "CAC": ("$1,000", "ok"),
        "Revenue": ("—", "no data"),
    }
    for label, (value, status) in expected.items():
        assert cards[label][0] == value
        assert cards[label][1].startswith(f":{STATUS_COLOURS[status]}-badge["), label


def test_company_names_with_markup_are_table_text(
    published_snapshot: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = run_page("executive", published_snapshot, monkeypatch)
    names = list(app.table[0].value["company_name"])
    assert any(name.startswith("<script>") for name in names)
    rendered = [m.value for m in app.markdown] + [c.value for c in app.caption]
    assert not any("<script" in text or "onerror" in text for text in rendered)


def test_the_drill_down_shows_the_breakdown_rows_and_follows_the_filters(
    published_snapshot: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = run_page("executive", published_snapshot, monkeypatch)
    app.button(key="drill_button_mrr").click().run()
    assert "Breakdown: MRR, 2025-06" in [s.value for s in app.subheader]
    with duckdb.connect(str(published_snapshot), read_only=True) as connection:
        expected = connection.execute(
            "select customer__segment, customer__plan, mrr from metrics.executive_segment_monthly "
            "where metric_time__month = '2025-06-01' order by mrr desc"
        ).df()
    shown = app.dataframe[0].value.reset_index(drop=True)
    pd.testing.assert_frame_equal(shown, expected, check_dtype=False)
    app.sidebar.selectbox(key="filter_Segment").select("enterprise").run()
    shown = app.dataframe[0].value
    assert set(shown["customer__segment"]) == {"enterprise"}
    assert len(shown) == (expected["customer__segment"] == "enterprise").sum()
    assert set(app.table[0].value["segment"]) == {"enterprise"}


def test_the_operational_status_grid_has_one_row_per_service_of_the_latest_day(
    published_snapshot: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = run_page("operational", published_snapshot, monkeypatch)
    with duckdb.connect(str(published_snapshot), read_only=True) as connection:
        expected = connection.execute(
            "select service, latency_p95_ms, error_rate, uptime_pct from metrics.operational_daily "
            "where metric_time__day = '2025-06-30' order by service"
        ).df()
    grid = app.dataframe[0].value.reset_index().sort_values("service").reset_index(drop=True)
    pd.testing.assert_frame_equal(grid[expected.columns], expected, check_dtype=False)
    app.sidebar.selectbox(key="filter_Service").select(expected["service"][0]).run()
    assert list(app.dataframe[0].value.index) == [expected["service"][0]]


def test_the_stale_data_warning_and_the_data_as_of_stamp(
    published_snapshot: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = run_page("product", published_snapshot, monkeypatch)
    stamp = "Data as of 2025-07-01 00:00 UTC · showing 2025-06-30 (the last day ended, from "
    assert any(c.value.startswith(stamp) for c in app.caption)
    assert any(w.value.startswith("Stale data: the newest load is") for w in app.warning)


def charts_of(app: AppTest) -> list[tuple[pd.DataFrame, dict]]:
    """(data, Vega-Lite spec) of every chart on the page, in page order."""
    return [
        (convert_arrow_bytes_to_pandas_df(chart.proto.data.data), json.loads(chart.proto.spec))
        for chart in app.get("vega_lite_chart")
    ]


def test_alerts_and_forecasts_show_once_they_are_published(
    snapshot_copy, published_snapshot: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    without = run_page("executive", published_snapshot, monkeypatch)
    assert any(i.value.startswith("No alerts evaluated yet") for i in without.info)
    assert "No forecast band: forecasts.metric_forecasts is not in the published data." in [
        c.value for c in without.caption
    ]

    snapshot = snapshot_copy(*ALERT_AND_FORECAST_ROWS)
    app = run_page("executive", snapshot, monkeypatch)
    firing = {m.label: m.value for m in app.metric if m.label.startswith("Firing")}
    assert firing == {"Firing: critical": "1"}  # the resolved NPS alert is not shown
    alerts = app.dataframe[0].value
    assert list(alerts["message"]) == ["MRR below its critical floor <b>now</b>"]
    # The month-end MRR forecast is drawn at its months; revenue has no forecast here.
    (mrr, spec), (revenue, _) = charts_of(app)[:2]
    forecast = mrr[mrr["series"] == "forecast"]
    assert [f"{d:%Y-%m-%d}" for d in forecast["date"]] == ["2025-07-01", "2025-08-01", "2025-09-01"]
    assert forecast["lower_95"].notna().all() and forecast["upper_80"].notna().all()
    assert [layer["mark"]["type"] for layer in spec["layer"][:2]] == ["area", "area"]
    assert set(revenue["series"]) == {"actual"}
    notes = [c.value for c in app.caption if c.value.startswith("No forecast band")]
    assert notes == [
        "No forecast band for Revenue, Logo churn rate %: forecasts.metric_forecasts holds no "
        "successful forecast of their total at month grain."
    ]

    operational = run_page("operational", snapshot, monkeypatch)
    firing = {m.label: m.value for m in operational.metric if m.label.startswith("Firing")}
    assert firing == {"Firing: high": "1"}  # the alert engine's severities
    # The daily error-rate forecast is drawn on the 30-day chart, not on the monthly one.
    error_rate = [
        data for data, spec in charts_of(operational) if spec.get("title") == "Error rate %"
    ]
    assert [len(data[data["series"] == "forecast"]) for data in error_rate] == [30, 0]


@pytest.mark.parametrize("name", [n for n, a in REGISTRY.items() if a.monthly_table])
def test_daily_pages_draw_13_months_of_the_monthly_table_after_the_30_days(
    name: str, published_snapshot: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    audience = REGISTRY[name]
    app = run_page(name, published_snapshot, monkeypatch)
    assert "Trends (13 months, monthly)" in [s.value for s in app.subheader]
    with duckdb.connect(str(published_snapshot), read_only=True) as connection:
        expected = connection.execute(
            f"select * from metrics.{audience.monthly_table} "
            "where metric_time__month between date '2024-06-01' and date '2025-06-01' "
            "order by metric_time__month"
        ).df()
    charts = charts_of(app)
    daily = charts[: len(audience.trends)]
    monthly = charts[len(audience.trends) : audience.trend_chart_count()]
    assert all(len(data) == 30 for data, _ in daily)
    assert len(monthly) == len(audience.monthly_trends)
    for metric, (data, _) in zip(audience.monthly_trends, monthly, strict=True):
        assert [f"{m:%Y-%m-%d}" for m in data["date"]] == [
            f"{m:%Y-%m-%d}" for m in expected["metric_time__month"]
        ], metric
        assert data["value"].tolist() == pytest.approx(
            expected[metric].astype(float).tolist(), nan_ok=True
        ), metric


@pytest.mark.parametrize(
    ("statement", "kind", "message"),
    [
        ("delete from metrics.executive_monthly", "info", "has no rows yet"),
        ("drop table metrics.executive_monthly", "warning", "metrics.executive_monthly is not"),
        ("update metrics.executive_monthly set mrr = null", "info", "has no value of mrr yet"),
    ],
)
def test_an_empty_or_missing_table_is_a_message(
    statement: str, kind: str, message: str, snapshot_copy, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = run_page("executive", snapshot_copy(statement), monkeypatch)
    assert any(message in element.value for element in getattr(app, kind))
    assert not app.metric


def test_a_missing_snapshot_is_a_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in REGISTRY:
        app = run_page(name, tmp_path / "nothing.duckdb", monkeypatch)
        assert [e.value for e in app.error] == [
            f"no published snapshot at {tmp_path / 'nothing.duckdb'}: run `opsmetrics publish` "
            "after a build"
        ]


AS_OF_MID_JUNE = (
    "create schema published",
    "create table published.snapshot_metadata (built_at timestamp, data_as_of timestamp)",
    "insert into published.snapshot_metadata values ('2025-06-16 02:00', '2025-06-15 08:00')",
)


def test_the_pages_the_report_and_the_demo_scorecard_show_the_same_period(
    snapshot_copy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One rule: the last period ended by the data's as-of stamp (the publish metadata's,
    here mid-June), whatever the wall clock and although June has rows."""
    snapshot = snapshot_copy(*AS_OF_MID_JUNE)
    executive = run_page("executive", snapshot, monkeypatch)
    assert "KPIs for 2025-05" in [s.value for s in executive.subheader]
    stamp = next(c.value for c in executive.caption if c.value.startswith("Data as of"))
    assert stamp.startswith("Data as of 2025-06-15 08:00 UTC · showing 2025-05 (the last month")
    operational = run_page("operational", snapshot, monkeypatch)
    assert "KPIs for 2025-06-14" in [s.value for s in operational.subheader]
    # The range still reaches the days in progress: a person can choose them.
    assert operational.sidebar.select_slider(key="period_range").options[-1] == "2025-06-30"

    report = write_report("executive", out=tmp_path / "executive.html")
    assert "<h1>Executive KPI report, 2025-05</h1>" in report.read_text()
    june = write_report("executive", "2025-06", out=tmp_path / "june.html")
    assert "<h1>Executive KPI report, 2025-06 (to date)</h1>" in june.read_text()
    daily = collect("operational")
    assert f"{daily.period:%Y-%m-%d}" == "2025-05-31"  # the month's last day: May ended
    console = Console(record=True, width=120)
    print_kpi_scorecard(console, Source("duckdb", snapshot))
    assert "Executive KPIs, 2025-05 (" in console.export_text()


def test_without_publish_metadata_the_as_of_stamp_is_the_newest_load_in_staging(
    published_snapshot: Path, snapshot_copy
) -> None:
    source = Source("duckdb", published_snapshot)
    # The tiny data ends on 2025-06-30: its last loads land at midnight after it.
    assert data_as_of(source, source.tables()) == datetime(2025, 7, 1, tzinfo=UTC)
    later = snapshot_copy(
        "update staging.stg_app__users set _loaded_at = '2025-07-02 03:04' "
        "where _loaded_at = (select max(_loaded_at) from staging.stg_app__users)"
    )
    assert data_as_of(Source("duckdb", later), source.tables()) == datetime(
        2025, 7, 2, 3, 4, tzinfo=UTC
    )
    with_metadata = Source("duckdb", snapshot_copy(*AS_OF_MID_JUNE))
    assert data_as_of(with_metadata, with_metadata.tables()) == datetime(2025, 6, 15, 8, tzinfo=UTC)


def test_no_as_of_stamp_when_neither_metadata_nor_loads_exist(snapshot_copy) -> None:
    empty = snapshot_copy(
        *AS_OF_MID_JUNE,
        "update published.snapshot_metadata set data_as_of = null",
        "drop schema staging cascade",
    )
    source = Source("duckdb", empty)
    assert data_as_of(source, source.tables()) is None
