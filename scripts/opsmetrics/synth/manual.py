"""Manually collected numbers: a market-size and an addressable-accounts estimate per
quarter, as an analyst enters them a few days into each quarter.

The quarters run from eight before the history starts to the last one already begun; the
eight earlier quarters carry the planted bad entries (unknown metric name, negative value,
an overlapping period, ...; eight leave room for every class beside the duplicates), so the
quarters the KPIs read stay clean.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np

from opsmetrics.synth.common import DAY, SECOND, Context, lookup_sql
from opsmetrics.synth.writer import Defect, TableBuild, standard_defects

METRICS = (
    # name, unit, value in the first quarter per customer of the scale, growth per quarter
    ("market_size", "USD", 50_000.0, 0.03),
    ("addressable_accounts", "accounts", 60.0, 0.01),
)
SOURCES = ("Analyst report", "Industry survey")
ENTERED_BY = ("finance-analyst", "strategy-team")
QUARTERS_BEFORE_HISTORY = 8


def _quarter_start(day: date) -> date:
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def _add_quarters(day: date, quarters: int) -> date:
    months = day.year * 12 + day.month - 1 + 3 * quarters
    return date(months // 12, months % 12 + 1, 1)


def _us(day: date) -> int:
    return int(datetime.combine(day, datetime.min.time(), tzinfo=UTC).timestamp()) * SECOND


def manual_metrics_table(ctx: Context) -> TableBuild:
    rng = ctx.rng("manual_metrics")
    history_start = datetime.fromtimestamp(ctx.start_us / SECOND, UTC).date()
    first = _add_quarters(_quarter_start(history_start), -QUARTERS_BEFORE_HISTORY)
    quarters = []
    quarter = first
    while _us(quarter) + 10 * DAY < ctx.end_us:
        quarters.append(quarter)
        quarter = _add_quarters(quarter, 1)
    n_quarters = len(quarters)
    metric = np.repeat(np.arange(len(METRICS)), n_quarters)
    index = np.tile(np.arange(n_quarters), len(METRICS))
    starts = np.array([_us(q) for q in quarters])[index]
    ends = np.array([_us(_add_quarters(q, 1)) - DAY for q in quarters])[index]
    base_value = np.array([m[2] * ctx.scale.customers for m in METRICS])[metric]
    growth = np.array([m[3] for m in METRICS])[metric]
    value = base_value * (1 + growth) ** index * rng.uniform(0.97, 1.03, len(metric))
    value = np.where(metric == 0, np.round(value, -3), np.round(value))
    loaded = np.minimum(starts + rng.integers(DAY, 10 * DAY, len(metric)), ctx.end_us)
    before_history = starts < _us(_quarter_start(history_start))
    source = rng.integers(0, len(SOURCES), len(metric))
    build = TableBuild(
        name="manual_metrics",
        base={
            "_metric": metric,
            "_value": value,
            "_source": source,
            "_ts": starts,
            "_t_end": ends,
            "_loaded": loaded,
        },
        columns={
            "metric_name": lookup_sql([m[0] for m in METRICS], "_metric"),
            "period_start": "strftime(_ts, '%Y-%m-%d')",
            "period_end": "strftime(_t_end, '%Y-%m-%d')",
            "value": "_value",
            "unit": lookup_sql([m[1] for m in METRICS], "_metric"),
            "source": lookup_sql(SOURCES, "_source"),
            "entered_by": lookup_sql(ENTERED_BY, "_source"),
        },
        key=("metric_name", "period_start"),
        main="period_start",
        date_main=True,
    )
    # Spoiled values only in quarters before the history; an overlapping period only on
    # addressable_accounts rows after the first (it overlaps the clean quarter before).
    spoilable = before_history & (metric == 0)
    overlappable = before_history & (metric == 1) & (index > 0)
    defects = [
        *standard_defects(build, ctx, nullable=()),
        Defect("invalid_value", (("metric_name", "'market_sise'"),)),
        Defect("out_of_range_value", (("value", "-1 - $expr"),)),
        Defect(
            "overlapping_period", (("period_start", "strftime(_ts - to_days(45), '%Y-%m-%d')"),)
        ),
    ]
    build.defects = [
        defect
        if defect.name in ("exact_duplicate", "resent_row")
        else Defect(
            defect.name,
            defect.overrides,
            overlappable if defect.name == "overlapping_period" else spoilable,
        )
        for defect in defects
    ]
    return build
