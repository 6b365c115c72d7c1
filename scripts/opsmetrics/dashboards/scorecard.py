"""KPI cards without Streamlit: values per period, comparisons, threshold status, format.

Targets, thresholds and directions come from the KPI registry (the metrics' `meta` in the
dbt manifest); values from the exported metric tables, so a card equals `mf query`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd

from opsmetrics.semantic import Kpi, kpi_registry

STATUS_COLOURS = {"ok": "green", "warning": "orange", "critical": "red", "no data": "gray"}
STATUS_LABELS = {
    "ok": "OK",
    "warning": "Warning",
    "critical": "Critical",
    "no data": "No data",
}


def kpis_by_name(manifest: dict[str, Any]) -> dict[str, Kpi]:
    return {kpi.name: kpi for kpi in kpi_registry(manifest)}


def _number(value: Any) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def status(value: Any, kpi: Kpi) -> str:
    """'ok', 'warning' or 'critical' by the KPI's thresholds and direction: a value at or
    beyond a threshold (below it when higher is better) is in that band; 'no data' for
    a missing value."""
    number = _number(value)
    if number is None:
        return "no data"
    warning, critical = kpi.meta["warning_threshold"], kpi.meta["critical_threshold"]
    if kpi.meta["direction"] == "higher_is_better":
        if number <= critical:
            return "critical"
        return "warning" if number <= warning else "ok"
    if number >= critical:
        return "critical"
    return "warning" if number >= warning else "ok"


def format_value(value: Any, unit: str) -> str:
    """A value as a person reads it, by the KPI's unit; '—' when missing."""
    number = _number(value)
    if number is None:
        return "—"
    if unit == "USD":
        return f"${number:,.0f}" if abs(number) >= 100 else f"${number:,.2f}"
    if unit == "percent":
        return f"{number:,.2f} %"
    if unit == "share":
        return f"{number * 100:,.1f} %"
    if unit == "ms":
        return f"{number:,.0f} ms"
    if abs(number) >= 100 or number == int(number):
        return f"{number:,.0f}"
    return f"{number:,.3f}".rstrip("0").rstrip(".")


@dataclass(frozen=True)
class Card:
    """One metric card: the value of a period and what it is compared with."""

    metric: str
    label: str
    unit: str
    period: pd.Timestamp
    value: float | None
    previous: float | None
    last_year: float | None
    target: float
    status: str
    higher_is_better: bool

    @property
    def text(self) -> str:
        return format_value(self.value, self.unit)

    @property
    def target_text(self) -> str:
        return format_value(self.target, self.unit)

    def change(self, other: float | None) -> float | None:
        if self.value is None or other is None:
            return None
        return self.value - other

    def change_text(self, other: float | None) -> str | None:
        change = self.change(other)
        if change is None:
            return None
        sign = "+" if change >= 0 else "-"
        return sign + format_value(abs(change), self.unit)

    def relative_change(self) -> float | None:
        """Change vs the previous period as a share of its absolute value (for movers)."""
        change = self.change(self.previous)
        if change is None or not self.previous:
            return None
        return change / abs(self.previous)


def _rows_at(
    frame: pd.DataFrame, time_column: str, periods: list[pd.Timestamp]
) -> dict[pd.Timestamp, dict[str, Any]]:
    """The first row of each of `periods` (one pass over the frame, not one per card)."""
    selected = frame[frame[time_column].isin(periods)].drop_duplicates(time_column)
    return {row[time_column]: row for row in selected.to_dict("records")}


def _value_at(rows: dict[pd.Timestamp, dict[str, Any]], metric: str, when: pd.Timestamp) -> Any:
    row = rows.get(when)
    return None if row is None else _number(row[metric])


def previous_period(period: pd.Timestamp, grain: str) -> pd.Timestamp:
    return period - (pd.DateOffset(months=1) if grain == "month" else pd.Timedelta(days=1))


def same_period_last_year(period: pd.Timestamp, grain: str) -> pd.Timestamp:
    return period - (pd.DateOffset(years=1) if grain == "month" else pd.Timedelta(days=364))


def cards(
    frame: pd.DataFrame,
    metrics: tuple[str, ...],
    kpis: dict[str, Kpi],
    grain: str,
    period: pd.Timestamp,
) -> list[Card]:
    """The cards of `metrics` for `period` from one row per period of a metric table
    (the table's own rows: no re-aggregation, so each value equals the saved query's)."""
    time_column = f"metric_time__{grain}"
    previous, last_year = previous_period(period, grain), same_period_last_year(period, grain)
    rows = _rows_at(frame, time_column, [period, previous, last_year])
    result = []
    for metric in metrics:
        if metric not in frame.columns or metric not in kpis:
            continue
        kpi = kpis[metric]
        value = _value_at(rows, metric, period)
        result.append(
            Card(
                metric=metric,
                label=kpi.label,
                unit=str(kpi.meta["unit"]),
                period=period,
                value=value,
                previous=_value_at(rows, metric, previous),
                last_year=_value_at(rows, metric, last_year),
                target=float(kpi.meta["target"]),
                status=status(value, kpi),
                higher_is_better=kpi.meta["direction"] == "higher_is_better",
            )
        )
    return result


def periods_with_data(frame: pd.DataFrame, time_column: str, metric: str) -> list[pd.Timestamp]:
    """The periods up to the last one with a value of `metric` (the page's headline KPI):
    rolling windows such as MAU reach past the data by their length."""
    with_value = frame.loc[frame[metric].notna(), time_column]
    if with_value.empty:
        return []
    last = with_value.max()
    return sorted(period for period in frame[time_column].drop_duplicates() if period <= last)


def biggest_movers(all_cards: list[Card], count: int = 5) -> list[Card]:
    """The cards that moved most vs the previous period, relative to its value."""
    moved = [card for card in all_cards if card.relative_change() is not None]
    return sorted(moved, key=lambda card: abs(card.relative_change() or 0), reverse=True)[:count]


def period_end(period: pd.Timestamp, grain: str) -> datetime:
    """When a period's data is complete: the start of the next day or month (UTC)."""
    step = pd.DateOffset(months=1) if grain == "month" else pd.Timedelta(days=1)
    return (pd.Timestamp(period) + step).to_pydatetime().replace(tzinfo=UTC)


@dataclass(frozen=True)
class ReportingPeriod:
    """The period a page, a report and the demo's scorecard show by default."""

    period: pd.Timestamp
    ended: bool
    """False when no period had ended by the as-of stamp (or it is unknown): the last
    period is shown, to date."""


def reporting_period(
    periods: list[pd.Timestamp], grain: str, as_of: datetime | None
) -> ReportingPeriod | None:
    """The one rule for the latest period shown: the last of `periods` that had ended by
    the data's as-of stamp `as_of` (the newest load the data holds, not the wall clock),
    so a month only days old is not compared with a whole month. When none had ended, or
    the stamp is unknown, the last period, marked not ended; None for no periods."""
    if not periods:
        return None
    ordered = sorted(periods)
    if as_of is not None:
        stamp = as_of if as_of.tzinfo else as_of.replace(tzinfo=UTC)
        ended = [period for period in ordered if period_end(period, grain) <= stamp]
        if ended:
            return ReportingPeriod(ended[-1], True)
    return ReportingPeriod(ordered[-1], False)


def months_of(periods: list[pd.Timestamp]) -> list[pd.Timestamp]:
    """The months (first days) that `periods` fall in, in order."""
    return sorted({pd.Timestamp(period).to_period("M").to_timestamp() for period in periods})


def is_stale(as_of: datetime, freshness: timedelta | None, now: datetime) -> bool:
    """True when the data's as-of stamp is older than the freshness allows."""
    if freshness is None:
        return False
    stamp = as_of if as_of.tzinfo else as_of.replace(tzinfo=UTC)
    return now - stamp > freshness


def _source_freshness(source: dict[str, Any]) -> timedelta | None:
    warn_after = (source.get("freshness") or {}).get("warn_after") or {}
    count, period = warn_after.get("count"), warn_after.get("period")
    if not count or not period:
        return None
    return timedelta(**{f"{period}s": count})


def freshness(manifest: dict[str, Any], saved_query: str) -> timedelta | None:
    """The strictest `warn_after` of the sources upstream of a saved query (walking the
    manifest's lineage: saved query → metrics → semantic models → models → sources)."""
    unique_id = f"saved_query.{manifest['metadata'].get('project_name', 'opsmetrics')}."
    unique_id += saved_query
    parents = manifest.get("parent_map", {})
    seen, pending, limits = set(), [unique_id], []
    while pending:
        node = pending.pop()
        if node in seen:
            continue
        seen.add(node)
        if node.startswith("source."):
            limit = _source_freshness(manifest["sources"][node])
            if limit is not None:
                limits.append(limit)
        pending.extend(parents.get(node, []))
    return min(limits) if limits else None
