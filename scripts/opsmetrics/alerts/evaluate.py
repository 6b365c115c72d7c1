"""`opsmetrics alerts evaluate`: every rule on its latest complete period, recorded.

For each enabled rule and slice the latest period that is complete at `as_of` is judged
(a day is complete at the following midnight, a month on the 1st of the next). Each
rule and slice gives two findings: the condition's own, and a `no_data` one that fires
when that period has no row at all (late load, empty slice) and clears when it has one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from opsmetrics.alerts import conditions, store
from opsmetrics.alerts.conditions import Outcome, comparison_offset
from opsmetrics.alerts.policies import Policies, load_policies
from opsmetrics.alerts.rules import (
    Anomaly,
    Change,
    Correlation,
    ForecastBreach,
    Rule,
    Threshold,
    Trend,
    load_rules,
    with_registry_rules,
)
from opsmetrics.alerts.source import Catalogue, SourceError, read_series
from opsmetrics.alerts.store import Finding
from opsmetrics.alerts.warehouse import Warehouse

STEP = {
    "5m": pd.Timedelta(minutes=5),
    "1h": pd.Timedelta(hours=1),
    "1d": pd.Timedelta(days=1),
    "1w": pd.Timedelta(weeks=1),
}
FORECAST_SEVERITY = {"critical": "high", "warning": "medium"}
"""A projected breach is not an outage yet: one step below the crossed level."""


def latest_complete(grain: str, as_of: pd.Timestamp) -> pd.Timestamp:
    """Start of the latest period of `grain` that has ended at `as_of`."""
    if grain == "30d":
        return as_of.to_period("M").to_timestamp() - pd.DateOffset(months=1)
    step = STEP[grain]
    if grain == "1w":  # ISO weeks start on Monday (a floor to 7 days would give Thursdays)
        return as_of.normalize() - pd.Timedelta(days=as_of.weekday()) - step
    return as_of.floor(step) - step


def period_offset(grain: str, start: pd.Timestamp, periods: int) -> pd.Timestamp:
    if grain == "30d":
        return start + pd.DateOffset(months=periods)
    return start + STEP[grain] * periods


def lookback(rule: Rule) -> int:
    """How many periods before the judged one a rule's condition reads."""
    condition = rule.condition
    if isinstance(condition, Threshold):
        return condition.for_periods
    if isinstance(condition, Change):
        return comparison_offset(rule.grain, condition.compare_to)
    if isinstance(condition, Trend):
        return condition.periods
    if isinstance(condition, Anomaly):
        if condition.method == "stl":
            return max(condition.history, 2) * conditions.STL_PERIOD.get(rule.grain, 1)
        if condition.method == "binomial":
            return condition.history * conditions.PERIODS_PER_WEEK.get(rule.grain, 1)
        seasonal = conditions.seasonal_positions(
            pd.DatetimeIndex([]), rule.grain, condition.seasonality
        )
        week = conditions.PERIODS_PER_WEEK.get(rule.grain, 1) if seasonal is not None else 1
        return condition.history * week
    if isinstance(condition, Correlation):
        return condition.window
    return 0


@dataclass(frozen=True)
class Prepared:
    """A rule's series ready to judge at any position: windowed values, their period
    starts, and the second metric of a correlation aligned on them."""

    values: np.ndarray
    index: pd.DatetimeIndex
    other: np.ndarray | None
    counts: np.ndarray | None = None
    """(events, trials) per period, not windowed: binomial anomalies sum their window."""


def counted(rule: Rule) -> bool:
    """The rule judges counts (events among trials), not values."""
    return isinstance(rule.condition, Anomaly) and rule.condition.method == "binomial"


def prepare(
    rule: Rule,
    series: pd.Series,
    other: pd.Series | None = None,
    frame: pd.DataFrame | None = None,
) -> Prepared:
    """Apply the rule's window (the rolling sum or mean of `window` periods); a counted
    rule also takes the (events, trials) of `frame` on the series' periods."""
    counts = None
    if counted(rule):
        if frame is None:
            raise ValueError(f"{rule.id}: method binomial needs the counts behind the series")
        counts = conditions.regular_counts(frame, pd.DatetimeIndex(series.index))
    series = windowed(rule, series)
    aligned = None
    if other is not None:
        aligned = windowed(rule, other).reindex(series.index).to_numpy(dtype=float)
    return Prepared(series.to_numpy(dtype=float), pd.DatetimeIndex(series.index), aligned, counts)


def judge_at(rule: Rule, prepared: Prepared, at: int, levels: dict[str, Any] | None) -> Outcome:
    """The rule's condition at position `at` (it reads only positions up to `at`)."""
    values, condition = prepared.values, rule.condition
    if isinstance(condition, Threshold):
        return conditions.threshold(values, at, condition, levels)
    if isinstance(condition, Change):
        return conditions.change(values, at, condition, rule.grain)
    if isinstance(condition, Trend):
        return conditions.trend(values, at, condition)
    if isinstance(condition, Anomaly) and prepared.counts is not None:
        multiplier = rule.source.multiplier if rule.source else 1.0
        return conditions.binomial_anomaly(
            prepared.counts, at, condition, rule.grain, rule.window, multiplier
        )
    if isinstance(condition, Anomaly):
        return conditions.anomaly(values, prepared.index, at, condition, rule.grain)
    if isinstance(condition, Correlation):
        if prepared.other is None:
            return Outcome("no_data", detail=f"no {condition.with_metric} for the period")
        return conditions.correlation(values, prepared.other, at, condition)
    raise ValueError(f"{rule.id}: {condition.kind} is not judged on a series")


def judge(
    rule: Rule,
    series: pd.Series,
    at: int,
    levels: dict[str, Any] | None,
    other: pd.Series | None = None,
    frame: pd.DataFrame | None = None,
) -> Outcome:
    """The rule's condition on a regular series at position `at` (`frame`: the rows
    behind it, for the counts of a binomial anomaly)."""
    return judge_at(rule, prepare(rule, series, other, frame), at, levels)


def windowed(rule: Rule, series: pd.Series) -> pd.Series:
    if rule.window == 1:
        return series
    rolling = series.rolling(rule.window, min_periods=rule.window)
    return rolling.sum() if rule.window_agg == "sum" else rolling.mean()


@dataclass
class Evaluation:
    as_of: datetime
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """Rules that could not run (missing metric table, no forecasts), one line each."""

    @property
    def firing(self) -> list[Finding]:
        return [f for f in self.findings if f.outcome.status == "firing"]


@dataclass
class Context:
    warehouse: Warehouse
    catalogue: Catalogue
    registry: dict[str, dict[str, Any]]
    policies: Policies


def evaluate_rule(
    context: Context, rule: Rule, as_of: pd.Timestamp
) -> tuple[list[Finding], str | None]:
    """Findings of one rule at `as_of`, or a note why it could not be evaluated."""
    if isinstance(rule.condition, ForecastBreach):
        return forecast_findings(context.warehouse, rule, as_of, context.registry)
    period = latest_complete(rule.grain, as_of)
    since = period_offset(rule.grain, period, -lookback(rule) - rule.window + 1)
    until = period_offset(rule.grain, period, 1)
    levels = context.registry.get(rule.metric)
    if isinstance(rule.condition, Threshold) and rule.condition.levels and levels is None:
        return [], f"{rule.id}: {rule.metric} has no registry thresholds"
    try:
        slice_name, frames = read_series(
            context.warehouse, context.catalogue, rule, rule.metric, since, until
        )
        others = None
        if isinstance(rule.condition, Correlation):
            _, others = read_series(
                context.warehouse, context.catalogue, rule, rule.condition.with_metric,
                since, until,
            )  # fmt: skip
    except SourceError as error:
        return [], f"{rule.id}: {error}"
    if not frames:
        value = rule.slice.value if rule.slice and rule.slice.value != "*" else "all"
        frames = {value: pd.DataFrame({"period": [], "value": []})}
    findings = []
    for value, frame in frames.items():
        series = conditions.regular_series(frame, rule.grain, period)
        present = bool((pd.to_datetime(frame["period"]) == period).any())
        if not present:
            outcome = Outcome("no_data", detail="no row for the period")
        else:
            other = None
            if others is not None and value in others:
                other = conditions.regular_series(others[value], rule.grain, period)
            outcome = judge(rule, series, len(series) - 1, levels, other, frame)
            if outcome.status == "no_data":
                outcome = Outcome("insufficient", detail="the metric is undefined for the period")
        findings += _findings(context, rule, slice_name, value, period, outcome, present)
    return findings, None


def _findings(
    context: Context,
    rule: Rule,
    slice_name: str,
    slice_value: str,
    period: pd.Timestamp,
    outcome: Outcome,
    present: bool,
) -> list[Finding]:
    window = (
        period_offset(rule.grain, period, 1 - rule.window).to_pydatetime(),
        period_offset(rule.grain, period, 1).to_pydatetime(),
    )
    common = {
        "rule_id": rule.id, "metric": rule.metric, "slice_name": slice_name,
        "slice_value": slice_value, "grain": rule.grain,
        "window_start": window[0], "window_end": window[1],
    }  # fmt: skip
    severity = outcome.severity or rule.severity or "high"
    findings = [
        Finding(rule_kind=rule.condition.kind, outcome=outcome, severity=severity, **common)
    ]
    if rule.no_data:
        no_data = (
            Outcome("ok")
            if present
            else Outcome("firing", detail=f"no data for the {rule.grain} period")
        )
        findings.append(
            Finding(
                rule_kind="no_data",
                outcome=no_data,
                severity=context.policies.no_data_severity,
                **common,
            )
        )
    return findings


def breach_message(
    threshold_kind: str,
    bound: float,
    days: int,
    crossing: pd.Timestamp,
    earliest: object,
    latest: object,
    model: str,
) -> str:
    """The text of a firing forecast_breach: when, and the 95 % band of the date (one
    date when the band is one day)."""
    when = "today" if days <= 0 else f"in {days} day" + ("s" if days > 1 else "")
    band = ""
    if earliest and latest:
        first, last = f"{pd.Timestamp(earliest):%Y-%m-%d}", f"{pd.Timestamp(latest):%Y-%m-%d}"
        band = f" (95 % band {first})" if first == last else f" (95 % band {first} to {last})"
    return (
        f"projected to breach its {threshold_kind} threshold {bound:,.4g} {when}, "
        f"on {crossing:%Y-%m-%d}{band} ({model})"
    )


def forecast_findings(
    warehouse: Warehouse, rule: Rule, as_of: pd.Timestamp, registry: dict[str, dict[str, Any]]
) -> tuple[list[Finding], str | None]:
    """One finding per metric and slice of the latest forecast run: firing when its
    crossing of the rule's threshold falls within `within_days` of `as_of`."""
    condition = rule.condition
    assert isinstance(condition, ForecastBreach)
    if not warehouse.exists("forecasts", "threshold_crossings"):
        return [], f"{rule.id}: forecasts.threshold_crossings does not exist (no forecasts yet)"
    metric_filter, params = "", [condition.threshold_kind]
    if rule.metric != "*":
        metric_filter, params = " and metric = {p}", [condition.threshold_kind, rule.metric]
    frame = warehouse.frame(
        "select metric, slice_name, slice_value, threshold_value, direction, trained_until, "
        "crossing_date, crossing_date_earliest, crossing_date_latest, model, run_at "
        "from forecasts.threshold_crossings where threshold_kind = {p}" + metric_filter,
        params,
    )
    if frame.empty:
        return [], None
    frame["run_at"] = pd.to_datetime(frame["run_at"])
    frame = frame[frame["run_at"] <= as_of]
    latest = frame.groupby(["metric", "slice_name", "slice_value"])["run_at"].transform("max")
    frame = frame[frame["run_at"] == latest]
    today = as_of.normalize()
    findings = []
    for row in store.records(frame):
        crossing = pd.Timestamp(row["crossing_date"]) if row["crossing_date"] else None
        days = (crossing - today).days if crossing is not None else None
        bound = float(row["threshold_value"])
        lower, upper = (bound, None) if row["direction"] == "higher_is_better" else (None, bound)
        if days is not None and days <= condition.within_days:
            message = breach_message(
                condition.threshold_kind, bound, days, crossing,
                row["crossing_date_earliest"], row["crossing_date_latest"], row["model"],
            )  # fmt: skip
            outcome = Outcome("firing", None, bound, lower, upper, message)
        else:
            outcome = Outcome("ok", None, bound, lower, upper)
        start = crossing or today
        findings.append(
            Finding(
                rule_id=rule.id,
                rule_kind="forecast_breach",
                metric=row["metric"],
                slice_name=row["slice_name"],
                slice_value=row["slice_value"],
                grain="1d",
                window_start=today.to_pydatetime(),
                window_end=(start + timedelta(days=1)).to_pydatetime(),
                outcome=outcome,
                severity=rule.severity or FORECAST_SEVERITY[condition.threshold_kind],
            )
        )
    return findings, None


def load_context(
    warehouse: Warehouse, policies_path: Path | None
) -> tuple[Context, dict[str, tuple[str, str | None]]]:
    """The metric catalogue, registry meta and policies; plus each KPI's natural grain."""
    from opsmetrics.dbt_invoke import run_dbt
    from opsmetrics.semantic import kpi_registry, load_manifest, manifest_path, metric_tables

    if not manifest_path().exists():
        run_dbt(["parse"], target=warehouse.target)
    manifest = load_manifest()
    policies = load_policies(policies_path)
    catalogue = Catalogue(warehouse, metric_tables(manifest))
    registry = {kpi.name: kpi.meta for kpi in kpi_registry(manifest)}
    grains = {}
    for metric in registry:
        natural = catalogue.natural(metric)
        if natural is not None:
            grains[metric] = natural
    return Context(warehouse, catalogue, registry, policies), grains


def known_metrics() -> set[str]:
    from opsmetrics.semantic import load_manifest

    return {metric["name"] for metric in load_manifest()["metrics"].values()}


def evaluate(
    warehouse: Warehouse,
    as_of: datetime,
    rules_dir: Path | None = None,
    policies_path: Path | None = None,
    rules: list[Rule] | None = None,
) -> tuple[Evaluation, Context, list[Any]]:
    """Every rule (plus the implicit registry thresholds) judged at `as_of`. Rule files
    are validated first: a bad file raises AlertConfigError before anything is read."""
    context, grains = load_context(warehouse, policies_path)
    rules = rules if rules is not None else load_rules(rules_dir, known_metrics())
    all_rules = with_registry_rules(rules, grains)
    missing = sorted(set(context.registry) - set(grains))
    evaluation = Evaluation(as_of)
    evaluation.notes += [f"{metric}: in no metric table (run export-metrics)" for metric in missing]
    stamp = pd.Timestamp(as_of)
    for rule in all_rules:
        if not rule.enabled:
            continue
        findings, note = evaluate_rule(context, rule, stamp)
        evaluation.findings += findings
        if note:
            evaluation.notes.append(note)
    return evaluation, context, all_rules


def record(warehouse: Warehouse, evaluation: Evaluation, policies: Policies) -> store.Plan:
    """Apply an evaluation to the alert tables; returns what changed."""
    changes = store.plan(
        evaluation.findings,
        store.open_events(warehouse),
        store.last_notified(warehouse),
        policies,
        evaluation.as_of,
        store.acknowledgements(warehouse, evaluation.as_of),
    )
    store.apply(warehouse, changes)
    return changes
