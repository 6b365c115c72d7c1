"""Scheduled KPI reports: one self-contained HTML file per audience and month (the pages'
Vega-Lite charts inlined as SVG: no script, no network needed to open it), or a PDF
printed from it by Debian's headless Chromium through Playwright."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from opsmetrics.dashboards import reader, scorecard, vega
from opsmetrics.dashboards.audiences import REGISTRY, Audience
from opsmetrics.dashboards.data import Source
from opsmetrics.semantic import Kpi, load_manifest

FORMATS = ("html", "pdf")
EMAIL_CHANNEL = "email"


class ReportError(Exception):
    """Bad input or missing data: the message is one line for the user."""


@dataclass(frozen=True)
class ReportData:
    audience: Audience
    period: pd.Timestamp
    cards: list[scorecard.Card]
    history: pd.DataFrame
    monthly: pd.DataFrame | None
    """A daily audience's 13 months of its monthly table (None: no monthly trend)."""
    forecasts: pd.DataFrame
    forecasts_published: bool
    alerts: pd.DataFrame | None
    kpis: dict[str, Kpi]
    ended: bool = True
    """False: the period had not ended by the data's as-of stamp (a report to date)."""


def parse_period(period: str) -> pd.Timestamp:
    """'YYYY-MM' → the month's first day."""
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", period):
        raise ReportError(f"--period must be a month as YYYY-MM, not {period!r}")
    return pd.Timestamp(f"{period}-01")


def collect(audience_name: str, period: str | None = None, target: str = "duckdb") -> ReportData:
    """Everything a report shows, read from the published metric tables. `period` (a
    month, YYYY-MM) defaults to the reporting month: the last ended by the data's as-of
    stamp, the rule the pages and the demo's scorecard follow."""
    if audience_name not in REGISTRY:
        raise ReportError(
            f"unknown audience {audience_name!r}: choose one of {', '.join(REGISTRY)}"
        )
    audience = REGISTRY[audience_name]
    chosen = None if period is None else parse_period(period)
    source = Source.for_target(target)
    available = source.tables()
    frame = reader.metric_table(source, audience.card_table, available)
    if frame is None:
        raise ReportError(
            f"metrics.{audience.card_table} is not in {source.describe()}: "
            "run `opsmetrics export-metrics` and `opsmetrics publish`"
        )
    time_column = audience.time_column
    periods = scorecard.periods_with_data(frame, time_column, audience.cards[0])
    as_of = reader.data_as_of(source, available)
    if chosen is None:
        shown = scorecard.reporting_period(scorecard.months_of(periods), "month", as_of)
        if shown is None:
            raise ReportError(f"no data in metrics.{audience.card_table}: it is empty")
        chosen = shown.period
    month = chosen
    in_month = [when for when in periods if when.to_period("M") == month.to_period("M")]
    if not in_month:
        latest = frame[time_column].max()
        ends = "it is empty" if pd.isna(latest) else f"its data ends {latest:%Y-%m-%d}"
        raise ReportError(f"no data for {month:%Y-%m} in metrics.{audience.card_table} ({ends})")
    shown = scorecard.reporting_period(in_month, audience.grain, as_of)
    assert shown is not None  # in_month is not empty
    when = shown.period
    kpis = scorecard.kpis_by_name(load_manifest())
    span = pd.DateOffset(months=12) if audience.grain == "month" else pd.Timedelta(days=29)
    history = frame[frame[time_column].between(when - span, when)]
    monthly = None
    if audience.monthly_table is not None:
        months = reader.metric_table(source, audience.monthly_table, available)
        if months is not None:
            first = month - pd.DateOffset(months=12)
            monthly = months[months["metric_time__month"].between(first, month)]
    return ReportData(
        audience=audience,
        period=when,
        cards=scorecard.cards(frame, audience.cards, kpis, audience.grain, when),
        history=history,
        monthly=monthly,
        forecasts=reader.forecasts(
            source, tuple(dict.fromkeys((*audience.trends, *audience.monthly_trends))), available
        ),
        forecasts_published=reader.FORECASTS in available,
        alerts=reader.firing_alerts(source, audience.alert_metrics(), available),
        kpis=kpis,
        ended=shown.ended,
    )


def _text(value: object) -> str:
    return html.escape(
        "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)
    )


def _kpi_rows(cards: list[scorecard.Card]) -> str:
    rows = []
    for card in cards:
        colour = {"ok": "#2e7d32", "warning": "#ef6c00", "critical": "#c62828"}.get(
            card.status, "#616161"
        )
        rows.append(
            "<tr>"
            f"<td>{_text(card.label)}</td>"
            f'<td class="num" data-metric="{_text(card.metric)}">{_text(card.text)}</td>'
            f'<td class="num">{_text(card.target_text)}</td>'
            f'<td style="color:{colour};font-weight:600">'
            f"{_text(scorecard.STATUS_LABELS[card.status])}</td>"
            f'<td class="num">{_text(scorecard.format_value(card.previous, card.unit))}</td>'
            f'<td class="num">{_text(card.change_text(card.previous) or "—")}</td>'
            f'<td class="num">{_text(card.change_text(card.last_year) or "—")}</td>'
            "</tr>"
        )
    return "\n".join(rows)


def _movers(cards: list[scorecard.Card]) -> str:
    movers = scorecard.biggest_movers(cards)
    if not movers:
        return "<p>No comparison with the previous period is possible.</p>"
    items = [
        f"<li>{_text(card.label)}: {_text(card.change_text(card.previous))} "
        f"({(card.relative_change() or 0) * 100:+.1f} %) to {_text(card.text)}</li>"
        for card in movers
    ]
    return "<ol>" + "".join(items) + "</ol>"


def _alerts(alerts: pd.DataFrame | None) -> str:
    if alerts is None:
        return "<p>No alerts evaluated yet (alerts.alert_events is not in the published data).</p>"
    if alerts.empty:
        return "<p>No alert is firing on these metrics.</p>"
    header = "".join(f"<th>{_text(column)}</th>" for column in alerts.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{_text(value)}</td>" for value in row) + "</tr>"
        for row in alerts.itertuples(index=False)
    )
    return f"<table><tr>{header}</tr>{body}</table>"


def _trend_rows(data: ReportData) -> list[tuple[pd.DataFrame, str, tuple[str, ...]]]:
    rows = [(data.history, data.audience.time_column, data.audience.trends)]
    if data.monthly is not None:
        rows.append((data.monthly, "metric_time__month", data.audience.monthly_trends))
    return rows


def _forecast_summary(data: ReportData) -> str:
    items = []
    # No forecast table published: an empty frame without columns.
    forecasts = data.forecasts
    for metric, rows in forecasts.groupby("metric") if "metric" in forecasts.columns else []:
        last = rows.sort_values("forecast_date").iloc[-1]
        kpi = data.kpis[str(metric)]
        unit = str(kpi.meta["unit"])
        items.append(
            f"<li>{_text(kpi.label)} on {last['forecast_date']:%Y-%m-%d}: "
            f"{_text(scorecard.format_value(last['point'], unit))} (80 %: "
            f"{_text(scorecard.format_value(last['lower_80'], unit))} to "
            f"{_text(scorecard.format_value(last['upper_80'], unit))})</li>"
        )
    available = {reader.FORECASTS} if data.forecasts_published else set()
    notes = []
    for _, time_column, metrics in _trend_rows(data):
        grain = time_column.rsplit("__", 1)[-1]
        labels = [
            data.kpis[metric].label
            for metric in metrics
            if reader.forecast_at_grain(data.forecasts, metric, grain) is None
        ]
        note = reader.missing_forecast_note(labels, grain, available)
        if note is not None and note not in notes:
            notes.append(note)
    summary = "<ul>" + "".join(items) + "</ul>" if items else ""
    return summary + "".join(f"<p>{_text(note)}</p>" for note in notes)


def _charts(data: ReportData) -> str:
    """Every trend chart, the same Vega-Lite spec the page draws, as inline SVG."""
    figures = []
    for frame, time_column, metrics in _trend_rows(data):
        grain = time_column.rsplit("__", 1)[-1]
        for metric in metrics:
            forecast = reader.forecast_at_grain(data.forecasts, metric, grain)
            chart = vega.trend(frame, time_column, data.kpis[metric], forecast)
            figures.append(vega.svg(chart, width=CHART_WIDTH))
    return "\n".join(f'<div class="chart">{figure}</div>' for figure in figures)


CHART_WIDTH = 620
"""px: two charts' worth of an A4 page's printable width, one chart per line."""
STYLE = """
body { font-family: sans-serif; margin: 2em; color: #212121; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #bdbdbd; padding: 4px 8px; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.chart { page-break-inside: avoid; margin: 1em 0; }
.chart svg { max-width: 100%; height: auto; }
"""


def _trend_span(data: ReportData) -> str:
    if data.audience.grain == "month":
        return "13 months, monthly."
    if data.monthly is None:
        return "30 days, daily."
    return "30 days, daily, then 13 months, monthly."


def summary_text(data: ReportData) -> str:
    """The report in a few plain-text lines (the body of its e-mail)."""
    lines = [title(data), "", "KPIs vs target:"]
    lines += [
        f"- {card.label}: {card.text} (target {card.target_text}, "
        f"{scorecard.STATUS_LABELS[card.status]})"
        for card in data.cards
    ]
    movers = scorecard.biggest_movers(data.cards)
    if movers:
        lines += ["", "Biggest movers:"]
        lines += [f"- {card.label}: {card.change_text(card.previous)}" for card in movers]
    firing = 0 if data.alerts is None else len(data.alerts)
    lines += ["", f"Firing alerts: {firing}.", "The full report is attached."]
    return "\n".join(lines)


def _period_text(data: ReportData) -> str:
    return data.period.strftime("%Y-%m" if data.audience.grain == "month" else "%Y-%m-%d")


def title(data: ReportData) -> str:
    to_date = "" if data.ended else " (to date)"
    return f"{data.audience.title} KPI report, {_period_text(data)}{to_date}"


def render_html(data: ReportData, generated_at: datetime | None = None) -> str:
    """The report as one HTML document, its charts inline SVG (no script)."""
    audience = data.audience
    generated = (generated_at or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC")
    period = _period_text(data)
    heading = title(data)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{_text(heading)}</title>
<style>{STYLE}</style>
</head><body>
<h1>{_text(heading)}</h1>
<p>Data of {_text(period)} from metrics.{_text(audience.card_table)} (the semantic layer's
exported saved query); generated {_text(generated)}.</p>
<h2>KPIs vs target and last period</h2>
<table><tr><th>KPI</th><th>Value</th><th>Target</th><th>Status</th><th>Previous period</th>
<th>Change</th><th>Change vs last year</th></tr>
{_kpi_rows(data.cards)}
</table>
<h2>Biggest movers</h2>
{_movers(data.cards)}
<h2>Firing alerts</h2>
{_alerts(data.alerts)}
<h2>Forecast</h2>
{_forecast_summary(data)}
<h2>Trends</h2>
<p>{_text(_trend_span(data))}</p>
{_charts(data)}
</body></html>
"""


def write_pdf(html_text: str, out: Path) -> None:
    """Print the HTML report to PDF with Debian's headless Chromium (never a browser
    Playwright downloads)."""
    from playwright.sync_api import Error

    from opsmetrics.browser import NoChromiumError, chromium

    try:
        with chromium() as browser:
            page = browser.new_page()
            page.set_content(html_text, wait_until="load")
            page.pdf(path=str(out), format="A4", print_background=True)
    except NoChromiumError as error:
        raise ReportError(str(error)) from error
    except Error as error:
        raise ReportError(f"chromium could not print the report: {error.message}") from error


def check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise ReportError(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    return fmt


def write(data: ReportData, out: Path, fmt: str = "html") -> Path:
    """Write the collected report to `out` as HTML or PDF; returns `out`."""
    check_format(fmt)
    out.parent.mkdir(parents=True, exist_ok=True)
    html_text = render_html(data)
    if fmt == "html":
        out.write_text(html_text, encoding="utf-8")
    else:
        write_pdf(html_text, out)
    return out


def default_path(data: ReportData, fmt: str) -> Path:
    """reports/AUDIENCE-YYYY-MM.FORMAT, by the report's month."""
    return Path("reports") / f"{data.audience.name}-{data.period:%Y-%m}.{fmt}"


def write_report(
    audience: str,
    period: str | None = None,
    out: Path | None = None,
    fmt: str = "html",
    target: str = "duckdb",
) -> Path:
    """Write the report of `audience` for month `period` (by default the reporting month);
    returns the file written. Bad options are refused before any data is read."""
    check_format(fmt)
    data = collect(audience, period, target)
    return write(data, out or default_path(data, fmt), fmt)


class EmailError(Exception):
    """The report was written but not sent; `config` says whether the channel is not set
    up (bad configuration) rather than the delivery failing."""

    def __init__(self, message: str, config: bool) -> None:
        super().__init__(message)
        self.config = config


def email_report(data: ReportData, path: Path, environ: Mapping[str, str]) -> None:
    """Send the written report (attached) through the alerts' `email` channel of
    alerts/policies.yml, with apprise as the alerts send; EmailError if it was not sent."""
    from opsmetrics.alerts import AlertConfigError
    from opsmetrics.alerts.notify import send_now
    from opsmetrics.alerts.policies import load_policies

    try:
        policies = load_policies()
    except AlertConfigError as error:
        raise EmailError(str(error), config=True) from error
    channel = policies.channels.get(EMAIL_CHANNEL)
    variable = channel.env if channel else None
    if not variable or not environ.get(variable):
        where = variable or f"a channel {EMAIL_CHANNEL!r} in alerts/policies.yml"
        raise EmailError(f"not e-mailed: set {where} to an apprise mailto:// URL", config=True)
    problem = send_now(policies, EMAIL_CHANNEL, title(data), summary_text(data), environ, path)
    if problem is not None:
        raise EmailError(f"not e-mailed: {problem}", config="apprise URL" in problem)
