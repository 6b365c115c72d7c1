"""One dashboard page per audience, in Streamlit.

Everything on a page comes from the metric tables of the semantic layer (the card values
are those tables' rows, unchanged), the KPI registry (targets, thresholds, direction) and,
where they exist, the forecast and alert tables. Text from the data is shown through
Streamlit's text elements (tables, dataframes, st.text), never as markdown or HTML.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import streamlit as st

from opsmetrics.alerts.rules import SEVERITIES
from opsmetrics.dashboards import reader, scorecard, vega
from opsmetrics.dashboards.audiences import REGISTRY, STATUS_GRID_METRICS, Audience
from opsmetrics.dashboards.data import DataUnavailable, Source
from opsmetrics.semantic import Kpi, load_manifest

ALL = "All"
CARDS_PER_ROW = 4
DIALS_PER_ROW = 3


def _bucket(audience: Audience) -> int:
    """Cached reads expire when the audience's refresh interval rolls over."""
    return int(time.time() // audience.refresh_seconds)


def _cached(target: str, kind: str, arguments: tuple, bucket: int) -> Any:
    """A read of `kind`, cached per source and refresh interval."""
    return _read(Source.for_target(target), kind, arguments, bucket)


@st.cache_data(max_entries=256, show_spinner=False, hash_funcs={Source: Source.describe})
def _read(source: Source, kind: str, arguments: tuple, bucket: int) -> Any:
    available = _available(source, bucket)
    if kind == "table":
        return reader.metric_table(source, arguments[0], available)
    if kind == "forecasts":
        return reader.forecasts(source, arguments, available)
    if kind == "alerts":
        return reader.firing_alerts(source, arguments, available)
    if kind == "as_of":
        return reader.data_as_of(source, available)
    month, segment, plan = arguments
    return reader.largest_customers(source, month, available, segment, plan)


@st.cache_data(max_entries=16, show_spinner=False, hash_funcs={Source: Source.describe})
def _available(source: Source, bucket: int) -> set[str]:
    return source.tables()


@st.cache_resource(show_spinner=False)
def _kpis() -> dict[str, Kpi]:
    return scorecard.kpis_by_name(load_manifest())


@st.cache_resource(show_spinner=False)
def _freshness(saved_query: str) -> Any:
    return scorecard.freshness(load_manifest(), saved_query)


def target() -> str:
    """The warehouse the pages read: OPSMETRICS_TARGET (set by `opsmetrics dashboards
    --target`), DuckDB's published snapshot by default."""
    return os.environ.get("OPSMETRICS_TARGET", "duckdb")


def render(name: str) -> None:
    """Draw the page of audience `name`; a missing snapshot or table is a message."""
    audience = REGISTRY[name]
    st.title(f"{audience.title} dashboard")
    try:
        kpis = _kpis()
    except FileNotFoundError:
        st.error("No dbt manifest (target/manifest.json): run `dbt parse` or a build first.")
        return
    bucket = _bucket(audience)
    try:
        tables = {
            table: _cached(target(), "table", (table,), bucket) for table in audience.all_tables()
        }
    except DataUnavailable as error:
        st.error(str(error))
        return
    frame = tables[audience.card_table]
    if frame is None:
        st.warning(
            f"The table metrics.{audience.card_table} is not in the published data yet: "
            "run `opsmetrics export-metrics` and `opsmetrics publish` after a build."
        )
        return
    if frame.empty:
        st.info(f"metrics.{audience.card_table} has no rows yet: the warehouse is empty.")
        return
    periods = scorecard.periods_with_data(frame, audience.time_column, audience.cards[0])
    if not periods:
        st.info(f"metrics.{audience.card_table} has no value of {audience.cards[0]} yet.")
        return
    as_of = _cached(target(), "as_of", (), bucket)
    shown = scorecard.reporting_period(periods, audience.grain, as_of)
    assert shown is not None  # periods is not empty
    start, end = _date_filter(audience, periods, shown.period)
    choices = _dimension_filters(audience, tables)
    _freshness_stamp(audience, as_of, shown)
    body = st.fragment(_body, run_every=audience.refresh_seconds)
    body(Page(audience, kpis, tables, start, end, choices, bucket))


class Page:
    """What one run of a page has read and what its filters chose."""

    def __init__(
        self,
        audience: Audience,
        kpis: dict[str, Kpi],
        tables: dict[str, pd.DataFrame | None],
        start: pd.Timestamp,
        end: pd.Timestamp,
        choices: dict[str, str],
        bucket: int,
    ) -> None:
        self.audience = audience
        self.kpis = kpis
        self.tables = tables
        self.start = start
        self.end = end
        self.choices = choices
        self.bucket = bucket

    def table(self, name: str) -> pd.DataFrame | None:
        return self.tables.get(name)

    def filtered(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Rows matching every filter that names one of the frame's columns."""
        for column, value in self.choices.items():
            if column in frame.columns:
                frame = frame[frame[column] == value]
        return frame

    def in_range(self, frame: pd.DataFrame, time_column: str | None = None) -> pd.DataFrame:
        column = time_column or self.audience.time_column
        start, end = self.start, self.end
        if column == "metric_time__month" and self.audience.grain == "day":
            start, end = start.to_period("M").to_timestamp(), end.to_period("M").to_timestamp()
        return frame[frame[column].between(start, end)]

    def end_month(self) -> pd.Timestamp:
        return self.end.to_period("M").to_timestamp()


def _date_filter(
    audience: Audience, periods: list[pd.Timestamp], default_end: pd.Timestamp
) -> tuple[Any, Any]:
    """The sidebar's period range: every period with data, by default the span (30 days
    or 13 months) that ends on the reporting period (the last one ended by the data's
    as-of stamp); a later period in progress can be chosen."""
    span = 13 if audience.grain == "month" else 30
    labels = [_period_label(period, audience.grain) for period in periods]
    if len(labels) == 1:
        return periods[0], periods[0]
    last = periods.index(default_end)
    first = labels[max(0, last + 1 - span)]
    chosen = st.sidebar.select_slider(
        "Period range", options=labels, value=(first, labels[last]), key="period_range"
    )
    by_label = dict(zip(labels, periods, strict=True))
    return by_label[chosen[0]], by_label[chosen[1]]


def _dimension_filters(
    audience: Audience, tables: dict[str, pd.DataFrame | None]
) -> dict[str, str]:
    """One select box per filter of the page; returns column → chosen value."""
    choices: dict[str, str] = {}
    for page_filter in audience.filters:
        values: set[str] = set()
        for frame in tables.values():
            for column in page_filter.columns:
                if frame is not None and column in frame.columns:
                    values |= {str(value) for value in frame[column].dropna().unique()}
        chosen = st.sidebar.selectbox(
            page_filter.label, [ALL, *sorted(values)], key=f"filter_{page_filter.label}"
        )
        if chosen != ALL:
            choices.update({column: chosen for column in page_filter.columns})
    st.sidebar.caption(f"Refreshes {audience.refresh_label}.")
    return choices


def _period_label(period: pd.Timestamp, grain: str) -> str:
    return period.strftime("%Y-%m" if grain == "month" else "%Y-%m-%d")


def _freshness_stamp(
    audience: Audience, as_of: datetime | None, shown: scorecard.ReportingPeriod
) -> None:
    """The data's as-of stamp, the period shown, and a warning when the stamp is older
    than the freshness of the page's sources."""
    limit = _freshness(audience.card_table)
    stamp = "Data as of " + (f"{as_of:%Y-%m-%d %H:%M} UTC" if as_of else "an unknown time")
    label = _period_label(shown.period, audience.grain)
    ended = f"the last {audience.grain} ended" if shown.ended else f"the {audience.grain} to date"
    stamp += f" · showing {label} ({ended}, from metrics.{audience.card_table})"
    st.caption(f"{stamp} · refreshes {audience.refresh_label}")
    now = datetime.now(UTC)
    if as_of is not None and scorecard.is_stale(as_of, limit, now):
        assert limit is not None
        hours = (now - as_of).total_seconds() / 3600
        st.warning(
            f"Stale data: the newest load is {hours:,.0f} h old, older than the "
            f"{limit.total_seconds() / 3600:,.0f} h freshness of its sources."
        )


def _body(page: Page) -> None:
    audience = page.audience
    frame = page.tables[audience.card_table]
    st.subheader(f"KPIs for {_period_label(page.end, audience.grain)}")
    all_cards = scorecard.cards(frame, audience.cards, page.kpis, audience.grain, page.end)
    _cards(audience, all_cards)
    drill = st.session_state.get(f"drill_{audience.name}")
    if drill in audience.breakdowns:
        _breakdown(page, drill)
    _trends(page, frame)
    section = PAGE_SECTIONS.get(audience.name)
    if section is not None:
        section(page)
    _alerts(page)


def _cards(audience: Audience, all_cards: list[scorecard.Card]) -> None:
    for row_start in range(0, len(all_cards), CARDS_PER_ROW):
        row = all_cards[row_start : row_start + CARDS_PER_ROW]
        for column, card in zip(st.columns(CARDS_PER_ROW), row, strict=False):
            with column, st.container(border=True, key=f"card_{card.metric}"):
                st.metric(
                    card.label,
                    card.text,
                    delta=card.change_text(card.previous),
                    delta_color="normal" if card.higher_is_better else "inverse",
                    delta_description="vs previous period",
                    help=f"metric {card.metric}",
                )
                colour = scorecard.STATUS_COLOURS[card.status]
                line = f":{colour}-badge[{scorecard.STATUS_LABELS[card.status]}] "
                line += f"target {card.target_text}"
                last_year = card.change_text(card.last_year)
                if last_year is not None:
                    line += f" · :gray[{last_year} vs same period last year]"
                st.markdown(line)
                if card.metric in audience.breakdowns:
                    st.button(
                        "Breakdown",
                        key=f"drill_button_{card.metric}",
                        on_click=_set_drill,
                        args=(audience.name, card.metric),
                    )


def _set_drill(audience: str, metric: str | None) -> None:
    st.session_state[f"drill_{audience}"] = metric


def _breakdown(page: Page, metric: str) -> None:
    """The card's metric for the selected period, one bar per dimension combination (the
    metric table's own rows: ratios are never re-aggregated)."""
    audience = page.audience
    breakdown = audience.breakdowns[metric]
    frame = page.table(breakdown.table)
    label = page.kpis[metric].label
    with st.container(border=True, key="breakdown"):
        st.subheader(f"Breakdown: {label}, {_period_label(page.end, audience.grain)}")
        st.button("Close breakdown", on_click=_set_drill, args=(audience.name, None))
        if frame is None:
            _not_published(breakdown.table)
            return
        rows = page.filtered(frame[frame[audience.time_column] == page.end])
        rows = rows[[*breakdown.dimensions, metric]].sort_values(metric, ascending=False)
        if rows.empty:
            st.info("No rows for this period and these filters.")
            return
        categories = [
            " · ".join(str(value) for value in values)
            for values in rows[list(breakdown.dimensions)].itertuples(index=False)
        ]
        chart_rows = pd.DataFrame({"category": categories, metric: rows[metric]})
        title = f"{label} by {' and '.join(breakdown.dimensions)}"
        _chart(vega.bars(chart_rows, "category", metric, title), f"breakdown_{metric}")
        st.dataframe(rows, hide_index=True)


def _trends(page: Page, frame: pd.DataFrame) -> None:
    audience = page.audience
    trends = tuple(dict.fromkeys((*audience.trends, *audience.monthly_trends)))
    forecasts = _cached(target(), "forecasts", trends, page.bucket)
    span = "13 months, monthly" if audience.grain == "month" else "30 days, daily"
    st.subheader(f"Trends ({span} by default)")
    _trend_row(page, page.in_range(frame), audience.time_column, audience.trends, forecasts)
    if audience.monthly_table is None:
        return
    st.subheader("Trends (13 months, monthly)")
    monthly = page.table(audience.monthly_table)
    if monthly is None:
        _not_published(audience.monthly_table)
        return
    end = page.end_month()
    months = monthly[monthly["metric_time__month"].between(end - pd.DateOffset(months=12), end)]
    _trend_row(page, months, "metric_time__month", audience.monthly_trends, forecasts)


def _trend_row(
    page: Page,
    frame: pd.DataFrame,
    time_column: str,
    metrics: tuple[str, ...],
    forecasts: pd.DataFrame,
) -> None:
    """One trend chart per metric, side by side, with its forecast band where a forecast
    of the chart's grain exists; a caption says why the others have none."""
    grain = time_column.rsplit("__", 1)[-1]
    unforecast = []
    for column, metric in zip(st.columns(len(metrics)), metrics, strict=True):
        metric_forecast = reader.forecast_at_grain(forecasts, metric, grain)
        if metric_forecast is None:
            unforecast.append(page.kpis[metric].label)
        with column:
            chart = vega.trend(frame, time_column, page.kpis[metric], metric_forecast)
            _chart(chart, f"trend_{grain}_{metric}")
    available = _available(Source.for_target(target()), page.bucket)
    note = reader.missing_forecast_note(unforecast, grain, available)
    if note is not None:
        st.caption(note)


def _chart(chart: vega.Chart, key: str, width: str = "stretch") -> None:
    data, spec = chart
    st.vega_lite_chart(data, spec, width=width, key=key)


def _not_published(table: str) -> None:
    st.info(f"metrics.{table} is not in the published data yet.")


def _gauges(page: Page, values: list[tuple[str, str, float | None]]) -> None:
    """One dial per (metric, title, value), DIALS_PER_ROW to a row of columns, each as wide
    as its column at most; a missing value is said, not drawn."""
    missing = [title for _, title, value in values if value is None or pd.isna(value)]
    dials = [
        (metric, float(value), title) for metric, title, value in values if title not in missing
    ]
    for row_start in range(0, len(dials), DIALS_PER_ROW):
        row = dials[row_start : row_start + DIALS_PER_ROW]
        for position, (column, (metric, value, title)) in enumerate(
            zip(st.columns(DIALS_PER_ROW), row, strict=False), start=row_start
        ):
            with column:
                _chart(vega.dial(value, page.kpis[metric], title), f"dial_{metric}_{position}")
    for title in missing:
        st.info(f"{title}: no value for this period.")


def _latest_value(frame: pd.DataFrame, time_column: str, when: pd.Timestamp, metric: str) -> Any:
    rows = frame.loc[frame[time_column] == when, metric]
    return rows.iloc[0] if len(rows) else None


def _executive(page: Page) -> None:
    frame = page.tables[page.audience.card_table]
    st.subheader("Availability")
    value = _latest_value(frame, page.audience.time_column, page.end, "uptime_pct")
    _gauges(page, [("uptime_pct", "Uptime %", value)])
    st.subheader(f"Largest customers by MRR, {_period_label(page.end, 'month')}")
    customers = _cached(
        target(),
        "customers",
        (page.end, page.choices.get("customer__segment"), page.choices.get("customer__plan")),
        page.bucket,
    )
    if customers is None:
        st.info("marts.fct_customer_mrr_monthly / marts.dim_customers are not published.")
    elif customers.empty:
        st.info("No paying customer for this month and these filters.")
    else:
        st.table(customers, hide_index=True)


def _product(page: Page) -> None:
    adoption = page.table("product_feature_adoption_monthly")
    st.subheader("Feature adoption (monthly)")
    if adoption is None:
        _not_published("product_feature_adoption_monthly")
    else:
        rows = page.filtered(page.in_range(adoption, "metric_time__month"))
        latest = rows[rows["metric_time__month"] == rows["metric_time__month"].max()]
        chart = vega.bars(
            latest.sort_values("feature_adoption_rate", ascending=False),
            "feature_month__feature",
            "feature_adoption_rate",
            "Feature adoption rate, latest month",
        )
        _chart(chart, "feature_adoption")
    growth = page.table("growth_monthly")
    st.subheader("Activation by acquisition channel")
    if growth is None:
        _not_published("growth_monthly")
        return
    rows = page.filtered(growth[growth["metric_time__month"] == page.end_month()])
    st.dataframe(
        rows[["customer__acquisition_channel", "new_users", "activation_rate"]], hide_index=True
    )


def _growth(page: Page) -> None:
    st.subheader(f"By acquisition channel, {_period_label(page.end, 'month')}")
    left, right = st.columns(2)
    with left:
        _month_bars(
            page,
            "growth_monthly",
            "customer__acquisition_channel",
            "new_customers",
            "New customers",
        )
    with right:
        channel = "acquisition_channel_month__acquisition_channel"
        _month_bars(page, "growth_acquisition_monthly", channel, "cac", "CAC (USD)")


def _month_bars(page: Page, table: str, category: str, metric: str, title: str) -> None:
    """`metric` of the page's month, one bar per `category` value of a metric table."""
    frame = page.table(table)
    if frame is None:
        _not_published(table)
        return
    rows = page.filtered(frame[frame["metric_time__month"] == page.end])
    _chart(vega.bars(rows, category, metric, title), f"{table}_{metric}")


def _operational(page: Page) -> None:
    services = page.table("operational_daily")
    total = page.tables[page.audience.card_table]
    if services is None:
        _not_published("operational_daily")
        return
    day = services[services["metric_time__day"] == page.end]
    day = page.filtered(day)
    st.subheader("Uptime and error budget")
    gauges = [
        (
            "uptime_pct",
            "Uptime % (all services)",
            _latest_value(total, "metric_time__day", page.end, "uptime_pct"),
        )
    ]
    gauges += [
        (
            "error_budget_remaining_pct",
            f"Error budget left: {row.service}",
            row.error_budget_remaining_pct,
        )
        for row in day.itertuples()
    ]
    _gauges(page, gauges)
    st.subheader(f"Service status, {_period_label(page.end, 'day')}")
    status_grid(page.kpis, day)


def status_grid(kpis: dict[str, Kpi], day: pd.DataFrame) -> None:
    """One row per service, one cell per status metric, coloured by its thresholds."""
    metrics = [metric for metric in STATUS_GRID_METRICS if metric in day.columns]
    grid = day[["service", *metrics]].set_index("service")
    colours = {"ok": "#c8e6c9", "warning": "#ffe0b2", "critical": "#ffcdd2", "no data": ""}

    def colour(column: pd.Series) -> list[str]:
        kpi = kpis[column.name]
        return [f"background-color: {colours[scorecard.status(value, kpi)]}" for value in column]

    styled = grid.style.apply(colour, axis=0).format(precision=2)
    st.dataframe(styled, column_config={metric: kpis[metric].label for metric in metrics})
    missing = [metric for metric in STATUS_GRID_METRICS if metric not in day.columns]
    if missing:
        st.caption(f"Not in the semantic layer's operational table: {', '.join(missing)}.")


def _alerts(page: Page) -> None:
    audience = page.audience
    st.subheader("Firing alerts")
    alerts = _cached(target(), "alerts", audience.alert_metrics(), page.bucket)
    if alerts is None:
        st.info("No alerts evaluated yet (alerts.alert_events is not in the published data).")
        return
    if alerts.empty:
        st.success("No alert is firing on this page's metrics.")
        return
    known = alerts["severity"].where(alerts["severity"].isin(SEVERITIES), "other")
    counts = known.value_counts()
    shown = [severity for severity in (*SEVERITIES, "other") if severity in counts]
    for column, severity in zip(st.columns(len(shown)), shown, strict=True):
        column.metric(f"Firing: {severity}", int(counts[severity]))
    st.dataframe(alerts, hide_index=True)


PAGE_SECTIONS = {
    "executive": _executive,
    "product": _product,
    "growth": _growth,
    "operational": _operational,
}
