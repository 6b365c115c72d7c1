"""Dashboard cards without a warehouse: threshold bands, comparisons, freshness, labels."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from opsmetrics.dashboards import scorecard, vega
from opsmetrics.dashboards.audiences import REGISTRY
from opsmetrics.dashboards.report import ReportError, parse_period, write_report
from opsmetrics.dashboards.serve import app_environment, check_options, streamlit_command
from opsmetrics.semantic import Kpi


def kpi(name: str, direction: str, target: float, warning: float, critical: float) -> Kpi:
    meta = {
        "unit": "percent",
        "target": target,
        "warning_threshold": warning,
        "critical_threshold": critical,
        "direction": direction,
    }
    return Kpi(name, name.title(), "simple", "test", "", meta, "")


UPTIME = kpi("uptime", "higher_is_better", 99.9, 99.5, 99.0)
ERRORS = kpi("errors", "lower_is_better", 0.5, 1.0, 2.0)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(99.95, "ok"), (99.6, "ok"), (99.5, "warning"), (99.2, "warning"), (99.0, "critical"),
     (42.0, "critical"), (None, "no data"), (float("nan"), "no data")],
)  # fmt: skip
def test_higher_is_better_status_falls_at_or_below_each_threshold(value, expected) -> None:
    assert scorecard.status(value, UPTIME) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0.0, "ok"), (0.99, "ok"), (1.0, "warning"), (1.5, "warning"), (2.0, "critical"),
     (9.0, "critical"), (None, "no data")],
)  # fmt: skip
def test_lower_is_better_status_rises_at_or_above_each_threshold(value, expected) -> None:
    assert scorecard.status(value, ERRORS) == expected


def test_values_are_formatted_by_unit() -> None:
    assert scorecard.format_value(41947.979, "USD") == "$41,948"
    assert scorecard.format_value(12.5, "USD") == "$12.50"
    assert scorecard.format_value(99.8312, "percent") == "99.83 %"
    assert scorecard.format_value(0.5409, "share") == "54.1 %"
    assert scorecard.format_value(393.12, "ms") == "393 ms"
    assert scorecard.format_value(29.0, "users") == "29"
    assert scorecard.format_value(3.941762, "ratio") == "3.942"
    assert scorecard.format_value(None, "USD") == "—"


MONTHLY = pd.DataFrame(
    {
        "metric_time__month": pd.to_datetime(
            ["2024-05-01", "2025-04-01", "2025-05-01", "2025-06-01", "2025-07-01"]
        ),
        "uptime": [99.0, 99.7, 99.8, 99.95, None],
        "errors": [0.1, 0.2, None, 1.2, None],
    }
)


def test_cards_compare_with_the_previous_period_and_the_same_month_last_year() -> None:
    kpis = {"uptime": UPTIME, "errors": ERRORS}
    uptime, errors = scorecard.cards(
        MONTHLY, ("uptime", "errors", "not_a_column"), kpis, "month", pd.Timestamp("2025-05-01")
    )
    assert (uptime.value, uptime.previous, uptime.last_year) == (99.8, 99.7, 99.0)
    assert uptime.change_text(uptime.previous) == "+0.10 %"
    assert uptime.status == "ok" and uptime.higher_is_better
    assert errors.value is None and errors.status == "no data"
    assert errors.change_text(errors.previous) is None
    assert errors.last_year == 0.1
    june = scorecard.cards(MONTHLY, ("errors",), kpis, "month", pd.Timestamp("2025-06-01"))[0]
    assert june.previous is None and june.status == "warning" and not june.higher_is_better


def test_daily_cards_compare_with_the_day_before_and_the_same_weekday_last_year() -> None:
    days = pd.DataFrame(
        {
            "metric_time__day": pd.to_datetime(["2024-07-01", "2025-06-29", "2025-06-30"]),
            "errors": [0.3, 0.9, 1.1],
        }
    )
    card = scorecard.cards(days, ("errors",), {"errors": ERRORS}, "day", pd.Timestamp("2025-06-30"))
    assert (card[0].previous, card[0].last_year) == (0.9, 0.3)  # 364 days: same weekday


def test_the_latest_period_is_the_last_with_a_headline_value() -> None:
    periods = scorecard.periods_with_data(MONTHLY, "metric_time__month", "uptime")
    assert periods[-1] == pd.Timestamp("2025-06-01") and len(periods) == 4
    empty = MONTHLY.assign(uptime=None)
    assert scorecard.periods_with_data(empty, "metric_time__month", "uptime") == []


MONTHS = list(pd.date_range("2026-10-01", "2026-12-01", freq="MS"))
DAYS = list(pd.date_range("2026-11-28", "2026-12-01", freq="D"))


def shown(periods: list, grain: str, as_of: datetime | None) -> tuple | None:
    period = scorecard.reporting_period(periods, grain, as_of)
    return None if period is None else (period.period, period.ended)


def test_the_reporting_period_is_the_last_ended_by_the_as_of_stamp_at_a_month_boundary() -> None:
    # A month has ended at midnight UTC after its last day, not a microsecond before.
    first_instant = datetime(2026, 12, 1, tzinfo=UTC)
    assert shown(MONTHS, "month", first_instant) == (MONTHS[1], True)  # November
    last_instant = datetime(2026, 11, 30, 23, 59, 59, 999_999, tzinfo=UTC)
    assert shown(MONTHS, "month", last_instant) == (MONTHS[0], True)  # October
    # The stamp decides, not the wall clock: a stamp a year old still shows its month.
    assert shown(MONTHS, "month", datetime(2026, 12, 2, 1, 30, tzinfo=UTC))[0] == MONTHS[1]
    # A naive stamp (DuckDB's timestamp) is UTC.
    assert shown(MONTHS, "month", datetime(2026, 12, 1)) == (MONTHS[1], True)


def test_an_as_of_stamp_on_the_last_day_of_a_month_shows_the_month_before() -> None:
    noon = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    assert shown(MONTHS, "month", noon) == (MONTHS[0], True)
    # The same stamp at day grain: the day before it is the last whole day.
    assert shown(DAYS, "day", noon) == (pd.Timestamp("2026-11-29"), True)
    assert shown(DAYS, "day", datetime(2026, 12, 1, tzinfo=UTC)) == (DAYS[2], True)


def test_with_no_ended_period_or_no_stamp_the_last_period_shows_to_date() -> None:
    early = datetime(2026, 10, 15, tzinfo=UTC)
    assert shown(MONTHS, "month", early) == (MONTHS[-1], False)
    assert shown(MONTHS, "month", None) == (MONTHS[-1], False)
    assert shown(list(reversed(MONTHS)), "month", None) == (MONTHS[-1], False)  # any order


def test_empty_data_has_no_reporting_period() -> None:
    assert shown([], "month", datetime(2026, 12, 1, tzinfo=UTC)) is None
    assert shown([], "day", None) is None
    assert scorecard.months_of([]) == []


def test_the_months_of_days_are_their_first_days_once_each() -> None:
    assert scorecard.months_of(DAYS) == [pd.Timestamp("2026-11-01"), pd.Timestamp("2026-12-01")]


def test_biggest_movers_rank_by_relative_change() -> None:
    kpis = {"uptime": UPTIME, "errors": ERRORS}
    frame = pd.DataFrame(
        {
            "metric_time__month": pd.to_datetime(["2025-05-01", "2025-06-01"]),
            "uptime": [99.0, 99.9],
            "errors": [1.0, 0.5],
        }
    )
    cards = scorecard.cards(frame, ("uptime", "errors"), kpis, "month", pd.Timestamp("2025-06-01"))
    movers = scorecard.biggest_movers(cards)
    assert [card.metric for card in movers] == ["errors", "uptime"]
    assert movers[0].relative_change() == pytest.approx(-0.5)


def test_data_is_stale_when_its_as_of_stamp_is_older_than_the_freshness() -> None:
    as_of = datetime(2025, 7, 1, tzinfo=UTC)
    limit = timedelta(hours=6)
    assert not scorecard.is_stale(as_of, limit, datetime(2025, 7, 1, 5, 59, tzinfo=UTC))
    assert scorecard.is_stale(as_of, limit, datetime(2025, 7, 1, 6, 1, tzinfo=UTC))
    assert scorecard.is_stale(datetime(2025, 7, 1), limit, datetime(2025, 7, 1, 6, 1, tzinfo=UTC))
    assert not scorecard.is_stale(as_of, None, datetime(2030, 1, 1, tzinfo=UTC))


def test_freshness_is_the_strictest_source_upstream_of_the_saved_query() -> None:
    def source(hours: int | None) -> dict:
        warn = {"count": hours, "period": "hour"} if hours else {"count": None, "period": None}
        return {"freshness": {"warn_after": warn}}

    manifest = {
        "metadata": {"project_name": "opsmetrics"},
        "sources": {
            "source.opsmetrics.billing.payments": source(36),
            "source.opsmetrics.platform.checks": source(6),
            "source.opsmetrics.app.users": source(None),
            "source.opsmetrics.marketing.costs": source(2),
        },
        "parent_map": {
            "saved_query.opsmetrics.board": ["metric.opsmetrics.mrr", "metric.opsmetrics.up"],
            "metric.opsmetrics.mrr": ["semantic_model.opsmetrics.mrr"],
            "metric.opsmetrics.up": ["semantic_model.opsmetrics.up"],
            "semantic_model.opsmetrics.mrr": ["model.opsmetrics.fct_mrr"],
            "semantic_model.opsmetrics.up": ["model.opsmetrics.fct_up"],
            "model.opsmetrics.fct_mrr": [
                "source.opsmetrics.billing.payments",
                "source.opsmetrics.app.users",
            ],
            "model.opsmetrics.fct_up": ["source.opsmetrics.platform.checks"],
            "model.opsmetrics.fct_cost": ["source.opsmetrics.marketing.costs"],
        },
    }
    assert scorecard.freshness(manifest, "board") == timedelta(hours=6)
    assert scorecard.freshness(manifest, "unknown") is None


def test_gauge_bands_follow_the_direction_and_stay_within_percent_bounds() -> None:
    low, high, bands = vega.gauge_bands(99.7, UPTIME)
    assert 0 <= low < 99.0 and high == 100.0
    assert bands == [(low, 99.0, "critical"), (99.0, 99.5, "warning"), (99.5, high, "ok")]
    assert [band for _, _, band in vega.gauge_bands(0.7, ERRORS)[2]] == [
        "ok",
        "warning",
        "critical",
    ]


def test_a_dial_is_one_chart_that_shrinks_with_its_column() -> None:
    data, spec = vega.dial(99.7, UPTIME, "<b>api</b>")
    assert spec["title"]["text"] == "<b>api</b>"
    parts = data.set_index("part")
    assert list(parts.index) == ["critical", "warning", "ok", "value", "target"]
    assert (parts.loc["value", "start"], parts.loc["value", "end"]) == (data["start"].min(), 99.7)
    assert spec["layer"][-1]["encoding"]["text"]["value"] == "99.70 %"
    # No fixed width: the view is its column's width, the ring centred and scaled in it.
    assert "width" not in spec and spec["autosize"]["type"] == "fit-x"
    ring = spec["layer"][0]["mark"]
    assert ring["x"] == {"expr": "width / 2"}
    assert ring["radius"] == {"expr": f"90 * min(1, width / {vega.DIAL_WIDTH})"}
    assert vega.dial(0.7, ERRORS)[1]["layer"][-1]["encoding"]["text"]["value"] == "0.70 %"


def test_a_dial_drawn_narrower_than_full_size_stays_inside_its_width() -> None:
    """vl-convert draws the same spec as the browser: at 150 px the ring fits in 150 px."""
    svg = vega.svg(vega.dial(99.7, UPTIME, "Uptime % (all services)"), width=150)
    width = float(re.search(r'<svg[^>]*\swidth="([\d.]+)"', svg).group(1))
    assert width <= 150
    full = vega.svg(vega.dial(99.7, UPTIME), width=400)
    assert float(re.search(r'<svg[^>]*\swidth="([\d.]+)"', full).group(1)) <= 400


def test_trend_draws_the_target_and_the_forecast_bands() -> None:
    days = pd.date_range("2025-06-01", periods=3)
    frame = pd.DataFrame({"metric_time__day": days, "uptime": [99.8, 99.6, 99.9]})
    forecast = pd.DataFrame(
        {
            "forecast_date": pd.date_range("2025-06-04", periods=2),
            **{column: [99.7, 99.7] for column in ("point", "lower_80", "upper_80")},
            **{column: [99.7, 99.7] for column in ("lower_95", "upper_95")},
        }
    )
    data, spec = vega.trend(frame, "metric_time__day", UPTIME, forecast)
    assert list(data["series"]) == ["actual"] * 3 + ["forecast"] * 2
    marks = [layer["mark"]["type"] for layer in spec["layer"]]
    assert marks == ["area", "area", "line", "rule", "text"]
    assert spec["layer"][3]["encoding"]["y"]["datum"] == 99.9
    data, spec = vega.trend(frame, "metric_time__day", UPTIME)
    assert set(data["series"]) == {"actual"} and "area" not in str(spec)


def test_labels_from_the_data_reach_vega_as_text() -> None:
    """Vega draws text, never HTML: a name with markup is passed unchanged, as data."""
    name = "<script>window.x = 1</script> & Co"
    frame = pd.DataFrame({"endpoint": [name], "requests": [3.0]})
    data, spec = vega.bars(frame, "endpoint", "requests", f"requests by {name}")
    assert list(data["category"]) == [name]
    assert spec["encoding"]["x"]["field"] == "category"


def test_every_audience_refreshes_at_its_interval() -> None:
    refresh = {name: audience.refresh_label for name, audience in REGISTRY.items()}
    assert refresh == {
        "executive": "daily",
        "product": "hourly",
        "growth": "hourly",
        "operational": "every minute",
    }


@pytest.mark.parametrize("period", ["2026-13", "2026-1", "Nov 2026", "2026-11-01", ""])
def test_a_report_period_must_be_a_month(period: str) -> None:
    with pytest.raises(ReportError, match="YYYY-MM"):
        parse_period(period)
    assert parse_period("2026-11") == pd.Timestamp("2026-11-01")


def test_a_report_refuses_an_unknown_audience_or_format(tmp_path) -> None:
    with pytest.raises(ReportError, match="unknown audience 'board'"):
        write_report("board", "2025-06", out=tmp_path / "r.html")
    with pytest.raises(ReportError, match="--format must be one of html, pdf"):
        write_report("executive", "2025-06", out=tmp_path / "r.docx", fmt="docx")
    assert not list(tmp_path.iterdir())


def test_the_app_listens_on_localhost_only_and_gets_the_target_in_a_copy_of_the_env() -> None:
    command = streamlit_command(8765)
    assert command[command.index("--server.address") + 1] == "127.0.0.1"
    assert command[command.index("--browser.gatherUsageStats") + 1] == "false"
    environment = app_environment("postgres")
    assert environment["OPSMETRICS_TARGET"] == "postgres"
    with pytest.raises(ValueError, match="unknown target"):
        app_environment("sqlite")
    with pytest.raises(ValueError, match="--port must be between 1 and 65535, not 0"):
        check_options(0, "duckdb")
    with pytest.raises(ValueError, match="unknown target 'oracle'"):
        check_options(8501, "oracle")
