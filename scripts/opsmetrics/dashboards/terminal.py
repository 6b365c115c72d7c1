"""The demo's last word: the executive KPI scorecard in the terminal, and where the
dashboards are."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from opsmetrics.dashboards import reader, scorecard
from opsmetrics.dashboards.audiences import REGISTRY
from opsmetrics.dashboards.data import Source
from opsmetrics.semantic import load_manifest
from opsmetrics.settings import published_duckdb_path

STATUS_STYLES = {"ok": "green", "warning": "dark_orange", "critical": "red", "no data": "dim"}


def show_demo_scorecard(console: Console) -> None:
    """The demo's last step: the scorecard from the snapshot just published (its metric
    tables were exported from the build just made), as the dashboards read it."""
    console.rule("KPI scorecard")
    print_kpi_scorecard(console, Source("duckdb", published_duckdb_path()))


def print_kpi_scorecard(console: Console, source: Source) -> None:
    """Value, target and status of every executive KPI for the reporting month of
    `source` (the last ended by the data's as-of stamp, as the pages and reports show;
    the month in progress only when none has), then how to open the dashboards."""
    audience = REGISTRY["executive"]
    available = source.tables()
    frame = reader.metric_table(source, audience.card_table, available)
    periods = (
        [] if frame is None else scorecard.periods_with_data(frame, audience.time_column, "mrr")
    )
    if frame is None or not periods:
        console.print(f"no executive KPIs in {source.describe()} yet")
        return
    kpis = scorecard.kpis_by_name(load_manifest())
    shown = scorecard.reporting_period(
        periods, audience.grain, reader.data_as_of(source, available)
    )
    assert shown is not None  # periods is not empty
    period, ended = shown.period, shown.ended
    cards = scorecard.cards(frame, audience.cards, kpis, audience.grain, period)
    month = f"{period:%Y-%m}" if ended else f"{period:%Y-%m} to date"
    table = Table(title=f"Executive KPIs, {month} ({source.describe()})")
    for column in ("KPI", "value", "target", "status", "vs previous month"):
        table.add_column(column, justify="left" if column in ("KPI", "status") else "right")
    for card in cards:
        style = STATUS_STYLES[card.status]
        table.add_row(
            card.label,
            card.text,
            card.target_text,
            f"[{style}]{scorecard.STATUS_LABELS[card.status]}[/{style}]",
            card.change_text(card.previous) or "—",
        )
    console.print(table)
    console.print(
        "Dashboards: `make dashboards` (or `opsmetrics dashboards --port 8501`), then open "
        "http://127.0.0.1:8501 — they read the published snapshot "
        f"{published_duckdb_path()}. Report of {month}: `opsmetrics report --audience "
        "executive --format pdf`."
    )
