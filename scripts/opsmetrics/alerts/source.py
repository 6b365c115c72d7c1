"""Where a rule's numbers come from: the exported metric tables (schema `metrics`, one per
saved query, written by `opsmetrics export-metrics`) or, for a `source` rule, a mart.

`Catalogue` lists every metric table actually present with its time grain and slice
columns; `read_series` returns a rule's values per slice as (period, value) frames, with
the counts (events, trials) behind a ratio of a mart source with a denominator.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from opsmetrics.alerts.rules import Rule, Source
from opsmetrics.alerts.warehouse import Warehouse
from opsmetrics.semantic import MetricTable

TIME_COLUMNS = {"1d": "metric_time__day", "1w": "metric_time__week", "30d": "metric_time__month"}
"""The metric tables' time column of each grain they hold, finest first."""


@dataclass(frozen=True)
class Located:
    """A metric table holding a metric at a grain; `slice_column` None for totals."""

    schema: str
    table: str
    time_column: str
    slice_column: str | None
    slice_name: str | None


class SourceError(ValueError):
    """A rule's metric is in no metric table at its grain and slice."""


def slice_name(column: str) -> str:
    """A metric table's dimension column as a slice name: the part after the last '__'
    (customer__acquisition_channel → acquisition_channel)."""
    return column.rsplit("__", 1)[-1]


class Catalogue:
    """The metric tables present in the warehouse, from the manifest's saved queries."""

    def __init__(self, warehouse: Warehouse, tables: list[MetricTable]) -> None:
        self.entries: list[tuple[MetricTable, str, list[str]]] = []
        for table in tables:
            columns = warehouse.columns(table.schema, table.table)
            time = [c for c in columns if c.startswith("metric_time__")]
            if not columns or len(time) != 1:
                continue
            dimensions = [c for c in columns if c not in table.metrics and c not in time]
            self.entries.append((table, time[0], dimensions))

    def locate(self, metric: str, grain: str, slice_: str | None) -> Located:
        time_column = TIME_COLUMNS.get(grain)
        candidates = []
        for table, time, dimensions in self.entries:
            if metric not in table.metrics or time != time_column:
                continue
            if slice_ is None and not dimensions:
                return Located(table.schema, table.table, time, None, None)
            matching = [d for d in dimensions if slice_name(d) == slice_]
            if slice_ is not None and len(dimensions) == 1 and matching:
                candidates.append(Located(table.schema, table.table, time, matching[0], slice_))
        if candidates:
            return candidates[0]
        where = f"sliced by {slice_}" if slice_ else "as a total"
        raise SourceError(f"{metric} is in no metric table at grain {grain} {where}")

    def natural(self, metric: str) -> tuple[str, str | None] | None:
        """(grain, slice name) a registry rule uses for `metric`: a total before a slice,
        a finer grain before a coarser one (day, week, month); None when no metric table
        holds it."""
        grains = {column: grain for grain, column in TIME_COLUMNS.items()}
        finest = list(TIME_COLUMNS.values())
        options = []
        for table, time, dimensions in self.entries:
            if metric in table.metrics and len(dimensions) <= 1 and time in grains:
                sliced = slice_name(dimensions[0]) if dimensions else None
                options.append((sliced is not None, finest.index(time), grains[time], sliced))
        if not options:
            return None
        _, _, grain, sliced = min(options)
        return grain, sliced


def _slice_filter(rule: Rule, column: str | None) -> tuple[str, list[Any]]:
    if column is None or rule.slice is None or rule.slice.value == "*":
        return "", []
    return f" and {column} = {{p}}", [rule.slice.value]


def read_series(
    warehouse: Warehouse,
    catalogue: Catalogue,
    rule: Rule,
    metric: str,
    since: pd.Timestamp,
    until: pd.Timestamp,
) -> tuple[str, dict[str, pd.DataFrame]]:
    """(slice name, {slice value: frame of period, value}) of `metric` for periods
    starting in [since, until). A rule without a slice yields {'all': …}."""
    if rule.source is not None:
        return _read_mart(warehouse, rule, rule.source, since, until)
    located = catalogue.locate(metric, rule.grain, rule.slice.name if rule.slice else None)
    slice_select = located.slice_column or "'all'"
    extra, params = _slice_filter(rule, located.slice_column)
    frame = warehouse.frame(
        f"select cast({slice_select} as varchar) as slice_value, "
        f"cast({located.time_column} as timestamp) as period, "
        f"cast({metric} as double precision) as value "
        f"from {located.schema}.{located.table} "
        f"where {located.time_column} >= {{p}} and {located.time_column} < {{p}}{extra}",
        [since.to_pydatetime(), until.to_pydatetime(), *params],
    )
    return (located.slice_name or "total"), _split(frame)


def _read_mart(
    warehouse: Warehouse, rule: Rule, source: Source, since: pd.Timestamp, until: pd.Timestamp
) -> tuple[str, dict[str, pd.DataFrame]]:
    value = f"sum({source.numerator}) * {source.multiplier!r}"
    divisor = source.denominator_sql
    counts = ""
    if source.weight:
        value = f"sum({source.numerator} * {source.weight}) * {source.multiplier!r}"
    if divisor:
        value = f"{value} / nullif({divisor}, 0)"
        if source.min_denominator:
            volume = f"{divisor} >= {int(source.min_denominator)}"
            value = f"case when {volume} then {value} end"
        if source.denominator:
            counts = (
                f", cast(sum({source.numerator}) as double precision) as events"
                f", cast({divisor} as double precision) as trials"
            )
    slice_select = source.slice_column or "'all'"
    extra, params = _slice_filter(rule, source.slice_column)
    group = f"{source.slice_column}, " if source.slice_column else ""
    frame = warehouse.frame(
        f"select cast({slice_select} as varchar) as slice_value, "
        f"cast({source.time_column} as timestamp) as period, "
        f"cast({value} as double precision) as value{counts} "
        f"from {source.table} "
        f"where {source.time_column} >= {{p}} and {source.time_column} < {{p}}{extra} "
        f"group by {group}{source.time_column}",
        [since.to_pydatetime(), until.to_pydatetime(), *params],
    )
    name = rule.slice.name if rule.slice else "total"
    return name, _split(frame)


def _split(frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
    if frame.empty:
        return {}
    frame["period"] = pd.to_datetime(frame["period"])
    frame["value"] = pd.to_numeric(frame["value"], errors="coerce")
    columns = ["period", "value", *(c for c in ("events", "trials") if c in frame)]
    return {
        str(value): group[columns].reset_index(drop=True)
        for value, group in frame.groupby("slice_value", sort=True)
    }
