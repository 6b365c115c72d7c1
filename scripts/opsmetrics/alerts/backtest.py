"""Backtest the default rules against the anomalies the generator planted.

Each explicit rule is judged at every period of the generated history (the same
condition code `evaluate` runs at the latest period). Consecutive firing periods of a
rule and slice make one alert episode. An episode is a true positive when it overlaps
(with a grace of the rule's window plus one period) a planted anomaly that affects the
rule's metric on the same slice (the service of a host counts for the host, and a total
for every slice); a planted anomaly is detected when an episode of a rule of that kind
matches it.

A planted service incident counts for recall only when the data can show it
(`detectable`): its window holds at least `MIN_REQUESTS` requests of the service, or a CPU
sample of one of its hosts, or server errors far beyond the service's rate. The others
are listed, per kind, as not detectable, never dropped silently.

Left out, with the reason in docs/decisions.md: the implicit registry thresholds (they
compare KPIs with business targets, which the generated data misses by design: they
fire on the level, not on an incident) and forecast_breach rules (no forecasts in the
generated data).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from opsmetrics.alerts import conditions
from opsmetrics.alerts.evaluate import Context, Prepared, judge_at, period_offset, prepare
from opsmetrics.alerts.rules import Anomaly, Correlation, ForecastBreach, Rule, Threshold
from opsmetrics.alerts.source import read_series
from opsmetrics.alerts.warehouse import Warehouse
from opsmetrics.settings import child_environment, project_dir, scoped_environment


@dataclass(frozen=True)
class Planted:
    kind: str
    metrics: tuple[str, ...]
    slice_name: str
    slice_value: str
    start: pd.Timestamp
    end: pd.Timestamp


@dataclass(frozen=True)
class Episode:
    rule: Rule
    slice_value: str
    start: pd.Timestamp
    end: pd.Timestamp


@dataclass
class KindScore:
    episodes: int = 0
    true_episodes: int = 0
    in_scope: int = 0
    detected: int = 0
    clean_periods: int = 0
    false_periods: int = 0
    rules: set[str] = field(default_factory=set)
    missed: list[str] = field(default_factory=list)
    """Kinds of the planted anomalies no rule detected (in 'all' only)."""
    undetectable: list[str] = field(default_factory=list)
    """Kinds of the planted anomalies the data cannot show (in 'all' only): outside
    recall, see `detectable`."""

    @property
    def precision(self) -> float | None:
        return self.true_episodes / self.episodes if self.episodes else None

    @property
    def recall(self) -> float | None:
        return self.detected / self.in_scope if self.in_scope else None

    @property
    def false_positive_rate(self) -> float | None:
        return self.false_periods / self.clean_periods if self.clean_periods else None


def planted_anomalies(manifest: dict[str, Any]) -> list[Planted]:
    return [
        Planted(
            kind=entry["kind"],
            metrics=tuple(entry["metrics"]),
            slice_name=entry["slice_name"],
            slice_value=entry["slice_value"],
            start=pd.Timestamp(entry["start"]).tz_convert(None),
            end=pd.Timestamp(entry["end"]).tz_convert(None),
        )
        for entry in manifest["planted_anomalies"]
    ]


MIN_REQUESTS = 14
"""Requests of a service an incident's window must hold to be detectable without a CPU
sample: the fewest in which the generator's mildest error burst (30 % of requests fail)
gives, at its expected count (floor(0.3 n) = 4 errors), a binomial tail below
`DETECTABLE_ALPHA` against the generator's 0.4 % server-error rate (13 requests give 3
errors, a tail of 2e-5). The same floor holds for latency spikes: a handful of requests
gives no latency level."""
DETECTABLE_ALPHA = 1e-6
"""Fewer requests still show an incident whose server errors alone have a binomial tail
below this against the service's own rate over the whole history (11 errors in 13)."""


def detectable(warehouse: Warehouse, planted: list[Planted]) -> list[bool]:
    """Whether the data can show each planted anomaly. A service incident (error burst,
    latency spike, outage) needs in its window one CPU sample of its hosts (the generator
    adds 30 points during bursts and spikes and takes 50 off in outages; staging.stg_
    platform__system_metrics, the sample times the hourly mart rounds away), or
    `MIN_REQUESTS` requests of its service (marts.fct_api_requests), or server errors
    whose binomial tail against the service's rate is below `DETECTABLE_ALPHA`. Business
    anomalies and host incidents change their own metric throughout their window: always
    detectable."""
    from scipy.stats import binom

    rates = warehouse.frame(
        "select service, count(case when is_server_error then 1 end) as errors, "
        "count(*) as requests from marts.fct_api_requests group by service"
    )
    rate = {row.service: (row.errors + 0.5) / (row.requests + 1) for row in rates.itertuples()}
    found = []
    for anomaly in planted:
        if anomaly.slice_name != "service":
            found.append(True)
            continue
        window = [anomaly.slice_value, anomaly.start.to_pydatetime(), anomaly.end.to_pydatetime()]
        requests = warehouse.frame(
            "select count(*) as n, count(case when is_server_error then 1 end) as errors "
            "from marts.fct_api_requests "
            "where service = {p} and requested_at >= {p} and requested_at < {p}",
            window,
        )
        samples = warehouse.frame(
            "select count(*) as n from staging.stg_platform__system_metrics "
            "where service = {p} and sampled_at >= {p} and sampled_at < {p} "
            "and metric_name = 'cpu_utilization'",
            window,
        )
        n, errors = int(requests["n"][0]), int(requests["errors"][0])
        tail = binom.sf(errors - 1, n, rate.get(anomaly.slice_value, 0.5)) if n else 1.0
        found.append(n >= MIN_REQUESTS or int(samples["n"][0]) > 0 or tail < DETECTABLE_ALPHA)
    return found


def _same_slice(rule: Rule, slice_value: str, planted: Planted) -> bool:
    if planted.slice_name == "total":
        return True
    name = rule.slice.name if rule.slice else "total"
    if name == "total":
        return False
    if name == planted.slice_name:
        return slice_value == planted.slice_value
    if name == "host" and planted.slice_name == "service":
        return slice_value.startswith(planted.slice_value + "-")
    if name == "service" and planted.slice_name == "host":
        return planted.slice_value.startswith(slice_value + "-")
    return False


def _overlaps(rule: Rule, start: pd.Timestamp, end: pd.Timestamp, planted: Planted) -> bool:
    grace_end = period_offset(rule.grain, planted.end, rule.window)
    return start < grace_end and end > planted.start


def matches(rule: Rule, slice_value: str, start: Any, end: Any, planted: Planted) -> bool:
    return (
        rule.metric in planted.metrics
        and _same_slice(rule, slice_value, planted)
        and _overlaps(rule, pd.Timestamp(start), pd.Timestamp(end), planted)
    )


def rule_episodes(
    context: Context, rule: Rule, since: pd.Timestamp, until: pd.Timestamp
) -> tuple[list[Episode], list[tuple[str, pd.Timestamp, bool]]]:
    """Firing episodes of `rule` over [since, until), and every judged period
    (slice, period start, firing)."""
    last = period_offset(rule.grain, until, -1)
    _, frames = read_series(context.warehouse, context.catalogue, rule, rule.metric, since, until)
    others: dict[str, pd.DataFrame] = {}
    if isinstance(rule.condition, Correlation):
        _, others = read_series(
            context.warehouse, context.catalogue, rule, rule.condition.with_metric, since, until
        )
    episodes, judged = [], []
    levels = context.registry.get(rule.metric)
    for value, frame in frames.items():
        series = conditions.regular_series(frame, rule.grain, last)
        other = None
        if value in others:
            other = conditions.regular_series(others[value], rule.grain, last)
        prepared = prepare(rule, series, other, frame)
        statuses = _statuses(rule, prepared, levels)
        opened: pd.Timestamp | None = None
        for period, status in zip(series.index, statuses, strict=True):
            if status not in ("firing", "ok"):
                continue
            firing = status == "firing"
            judged.append((value, period, firing))
            if firing and opened is None:
                opened = period
            if not firing and opened is not None:
                episodes.append(Episode(rule, value, opened, period))
                opened = None
        if opened is not None:
            episodes.append(Episode(rule, value, opened, period_offset(rule.grain, last, 1)))
    return episodes, judged


def _clean_periods(
    rule: Rule, judged: list[tuple[str, pd.Timestamp, bool]], planted: list[Planted]
) -> tuple[int, int]:
    """(judged periods outside every related planted window, how many of them fired),
    a slice at a time (a 5-minute rule judges a million periods at `medium`)."""
    if not judged:
        return 0, 0
    frame = pd.DataFrame(judged, columns=["value", "period", "firing"])
    clean = false = 0
    for value, group in frame.groupby("value", sort=False):
        periods = pd.DatetimeIndex(group["period"])
        after = period_offset(rule.grain, periods, 1)
        inside = np.zeros(len(periods), dtype=bool)
        for anomaly in planted:
            if rule.metric in anomaly.metrics and _same_slice(rule, str(value), anomaly):
                grace_end = period_offset(rule.grain, anomaly.end, rule.window)
                inside |= np.asarray((periods < grace_end) & (after > anomaly.start))
        clean += int((~inside).sum())
        false += int(group["firing"].to_numpy()[~inside].sum())
    return clean, false


def _statuses(rule: Rule, prepared: Prepared, levels: dict[str, Any] | None) -> list[str]:
    """The rule's status at every period: thresholds on a fixed bound and binomial
    anomalies all at once (the 5-minute rules judge 100,000 periods a year per slice),
    the others period by period."""
    condition = rule.condition
    if isinstance(condition, Threshold) and condition.levels is None:
        return list(conditions.threshold_statuses(prepared.values, condition))
    if isinstance(condition, Anomaly) and prepared.counts is not None:
        multiplier = rule.source.multiplier if rule.source else 1.0
        positions = np.arange(len(prepared.values))
        verdicts = conditions.binomial_verdicts(
            prepared.counts, positions, condition, rule.grain, rule.window, multiplier
        )
        return list(verdicts.status)
    return [judge_at(rule, prepared, at, levels).status for at in range(len(prepared.values))]


def backtest(context: Context, rules: list[Rule], manifest: dict[str, Any]) -> dict[str, KindScore]:
    """Precision, recall and false-positive rate per rule kind (and 'all'). Disabled
    rules are scored too, each kind under '<kind> (disabled)', and left out of 'all'."""
    planted = planted_anomalies(manifest)
    shown = detectable(context.warehouse, planted)
    end = pd.Timestamp(manifest["end_date"]) + pd.Timedelta(days=1)
    since = pd.Timestamp("1970-01-01")
    scores: dict[str, KindScore] = defaultdict(KindScore)
    detected: dict[str, set[int]] = defaultdict(set)
    in_scope: dict[str, set[int]] = defaultdict(set)
    for rule in rules:
        if isinstance(rule.condition, ForecastBreach):
            continue
        kind = rule.condition.kind if rule.enabled else f"{rule.condition.kind} (disabled)"
        counted = (scores[kind], scores["all"]) if rule.enabled else (scores[kind],)
        episodes, judged = rule_episodes(context, rule, since, end)
        for number, anomaly in enumerate(planted):
            if (
                shown[number]
                and rule.metric in anomaly.metrics
                and (anomaly.slice_name == "total" or rule.slice is not None)
            ):
                in_scope[kind].add(number)
        for score in counted:
            score.rules.add(rule.id)
            score.episodes += len(episodes)
        for episode in episodes:
            hits = [
                number
                for number, anomaly in enumerate(planted)
                if matches(rule, episode.slice_value, episode.start, episode.end, anomaly)
            ]
            if hits:
                for score in counted:
                    score.true_episodes += 1
                detected[kind].update(hits)
        clean, false = _clean_periods(rule, judged, planted)
        for score in counted:
            score.clean_periods += clean
            score.false_periods += false
    for kind in list(scores):
        if kind == "all":
            continue
        scores[kind].in_scope = len(in_scope[kind])
        scores[kind].detected = len(detected[kind] & in_scope[kind])
    enabled = [kind for kind in in_scope if not kind.endswith("(disabled)")]
    all_scope = set().union(*(in_scope[kind] for kind in enabled))
    all_detected = set().union(*(detected[kind] for kind in enabled))
    scores["all"].in_scope = len(all_scope)
    scores["all"].detected = len(all_detected & all_scope)
    for number in sorted(all_scope - all_detected):
        scores["all"].missed.append(planted[number].kind)
    scores["all"].undetectable = [
        anomaly.kind for anomaly, seen in zip(planted, shown, strict=True) if not seen
    ]
    return dict(scores)


RECALL_TARGET = 0.9
PRECISION_TARGET = 0.8


def bench_warehouse(scale: str) -> Path:
    return project_dir() / "warehouse" / f"bench_alerts_{scale}.duckdb"


def build_bench_warehouse(
    scale: str, seed: int, end: date, warehouse: Path, data: Path | None = None
) -> Path:
    """Generate `scale` data next to `warehouse` (or take the generated folder `data`,
    read only), load it there, `dbt build --full-refresh` and export the metric tables
    (each in a child process). Returns the data folder (with its manifest)."""
    from opsmetrics.bench import _generate_child, _run_dbt_child
    from opsmetrics.dbt_invoke import FULL_BUILD_ARGS
    from opsmetrics.load import load_duckdb

    if data is None:
        data = warehouse.with_suffix("").with_name(warehouse.stem + "_data")
        _generate_child(scale, seed, end, data)
    with scoped_environment({"OPSMETRICS_DUCKDB_PATH": str(warehouse)}):
        load_duckdb(data, replace=True)
    _run_dbt_child(FULL_BUILD_ARGS, warehouse)
    subprocess.run(
        [sys.executable, "-m", "opsmetrics", "export-metrics"],
        env=child_environment(OPSMETRICS_DUCKDB_PATH=str(warehouse)),
        check=True,
        capture_output=True,
    )
    return data


def bench_alerts(
    scale: str,
    seed: int,
    end_date: date | None,
    build: bool,
    manifest_path: Path | None,
    data: Path | None = None,
) -> dict:
    """Backtest the default rules at `scale` and record the result in docs/benchmarks.md.
    `data`: an already generated folder to load instead of generating one."""
    from opsmetrics.alerts.evaluate import load_context
    from opsmetrics.alerts.rules import load_rules
    from opsmetrics.alerts.warehouse import Warehouse
    from opsmetrics.bench import _result, record

    warehouse = bench_warehouse(scale)
    end = end_date or datetime.now(UTC).date()
    if data is not None:
        _check_data(data, scale)
    if build:
        manifest_path = build_bench_warehouse(scale, seed, end, warehouse, data) / "manifest.json"
    elif manifest_path is None and data is not None:
        manifest_path = data / "manifest.json"
    if manifest_path is None:
        raise ValueError("--no-build needs --manifest (the generated data's manifest.json)")
    manifest = json.loads(manifest_path.read_text())
    started = time.perf_counter()
    with (
        scoped_environment({"OPSMETRICS_DUCKDB_PATH": str(warehouse)}),
        Warehouse("duckdb", read_only=True) as connection,
    ):
        context, _ = load_context(connection, None)
        scores = backtest(context, load_rules(), manifest)
    seconds = round(time.perf_counter() - started, 1)
    result = _result(
        "alerts",
        scale,
        seed=manifest["seed"],
        end_date=manifest["end_date"],
        planted=len(manifest["planted_anomalies"]),
        backtest_seconds=seconds,
        scores={
            kind: {**asdict(score), "rules": sorted(score.rules)} for kind, score in scores.items()
        },
    )
    record(result, render=alerts_section)
    return result


def _check_data(data: Path, scale: str) -> None:
    """A generated folder of `scale` with its manifest, or a ValueError saying why not."""
    manifest = data / "manifest.json"
    if not manifest.is_file():
        raise ValueError(f"{data}: no manifest.json (not a generated data folder)")
    written = json.loads(manifest.read_text()).get("scale")
    if written != scale:
        raise ValueError(f"{data} holds scale {written!r} data, not {scale!r}")


def _counted(kinds: list[str]) -> str:
    return ", ".join(f"{kinds.count(k)} {k}" for k in sorted(set(kinds)))


def _ratio(numerator: int, denominator: int) -> str:
    return f"{numerator / denominator:.2f}" if denominator else "n/a"


def alerts_section(result: dict) -> str:
    """The benchmarks.md section of an alerts backtest."""
    lines = [
        f"## alerts, scale {result['scale']}",
        "",
        f"Run {result['date']} (measured while other jobs ran on the machine): "
        "`opsmetrics bench alerts` judged every explicit default rule of alerts/rules/ at "
        f"every period of generated data (seed {result['seed']}, ending "
        f"{result['end_date']}) with {result['planted']} planted incidents and anomalies "
        "(manifest.json). An alert episode is a run of consecutive firing periods of one "
        "rule and slice; it is a true positive when it overlaps a planted anomaly of its "
        "metric and slice (grace: the rule's window). Recall counts the planted anomalies "
        "a kind's rules watch and the data can show (a service incident needs "
        f"{MIN_REQUESTS}+ requests of its service, a CPU sample of its hosts or server "
        "errors far beyond its rate in its window). False-positive rate: firing periods "
        "among the judged "
        "periods outside every related planted window (the clean stretches). Registry "
        "thresholds and forecast_breach are not scored (docs/decisions.md, Issue 17); "
        "rows marked (disabled) score the rules shipped with `enabled: false`, outside "
        f"the totals. Backtest time {result['backtest_seconds']} s.",
        "",
        "| rule kind | rules | episodes | true | precision | planted in scope | detected "
        "| recall | clean periods | false-positive rate |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    order = ["threshold", "change", "trend", "anomaly", "correlation", "all"]
    for kind in sorted(result["scores"], key=lambda k: order.index(k) if k in order else 9):
        score = result["scores"][kind]
        lines.append(
            f"| {kind} | {len(score['rules'])} | {score['episodes']} | "
            f"{score['true_episodes']} | {_ratio(score['true_episodes'], score['episodes'])} | "
            f"{score['in_scope']} | {score['detected']} | "
            f"{_ratio(score['detected'], score['in_scope'])} | {score['clean_periods']:,} | "
            f"{score['false_periods'] / max(score['clean_periods'], 1):.4f} |"
        )
    total = result["scores"]["all"]
    recall = total["detected"] / max(total["in_scope"], 1)
    precision = total["true_episodes"] / max(total["episodes"], 1)
    met = recall >= RECALL_TARGET and precision >= PRECISION_TARGET
    undetectable = total.get("undetectable", [])
    lines += [
        "",
        f"Targets (issue 17): recall >= {RECALL_TARGET} and precision >= {PRECISION_TARGET} "
        f"over all kinds: {'met' if met else 'not met'} (recall {recall:.2f}, precision "
        f"{precision:.2f}). Planted anomalies no rule detected: "
        + (_counted(missed) if (missed := total.get("missed", [])) else "none")
        + ". Planted anomalies the data cannot show (left out of recall): "
        + (_counted(undetectable) if undetectable else "none")
        + f"; recall over every planted anomaly {total['detected'] / result['planted']:.2f}.",
    ]
    machine = "; ".join(f"{k} {v}" for k, v in result["machine"].items())
    lines += ["", f"Machine: {machine}.", ""]
    return "\n".join(lines)
