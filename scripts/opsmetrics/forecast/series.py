"""Which series are forecast, where each is read from, and how it is prepared.

Every series is read from the marts with portable SQL (DuckDB and Postgres alike) that
aggregates exactly as its MetricFlow metric does at day grain (see docs/decisions.md,
"Issue 18: forecasts"): `revenue` from fct_revenue_daily (by plan: fct_revenue_plan_daily),
`mrr` and `active_customers` from fct_mrr_daily, MRR by plan from fct_customer_mrr_monthly,
`new_users` from dim_users, `latency_p95_ms` and `throughput_rps` from fct_slo_daily, CPU and
memory utilisation (sum of sample totals / samples) and the peak queue depth from
fct_resource_utilization_hourly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd

DAY, MONTH = "day", "month"
MIN_DAILY_HISTORY = 56
"""Eight weeks: fewer observed days gives a `not_enough_history` row."""
MIN_MONTHLY_HISTORY = 12
"""Twelve complete months for a monthly series."""
WEEK = 7

QUEUE_DEPTH_THRESHOLDS = {"warning": 100.0, "critical": 250.0}
"""queue_depth is not a KPI (no registry meta): its capacity thresholds live here, set
from the generated platform's busy-episode peaks (docs/decisions.md)."""


@dataclass(frozen=True)
class SeriesSpec:
    """One forecast family: a metric, sliced one way, read by `sql`.

    `sql` returns (slice_value, period_date, value) rows; `fill` says what a missing day
    means ('zero': nothing happened; 'interpolate': not measured). `thresholds` is
    'registry' (the KPI's warning/critical meta), 'own' (QUEUE_DEPTH_THRESHOLDS) or None.
    `month_ends` writes only the month-end rows of a daily forecast (month-end MRR): those
    within the horizon, at least the first.
    """

    metric: str
    slice_name: str
    grain: str
    horizon: int
    sql: str
    fill: str = "interpolate"
    floor: float | None = 0.0
    ceiling: float | None = None
    thresholds: str | None = None
    month_ends: bool = False

    @property
    def period(self) -> int:
        """The seasonal period: a week for daily series, none for monthly ones."""
        return WEEK if self.grain == DAY else 1

    @property
    def min_history(self) -> int:
        return MIN_DAILY_HISTORY if self.grain == DAY else MIN_MONTHLY_HISTORY

    @property
    def window(self) -> int:
        """Origins whose mean absolute one-step error sets the scale of the intervals
        (`models.calibrate`'s local scale): 12 weeks for daily series, 18 months for
        monthly ones (at most half the series, `models.forecast`). The model is chosen on
        every origin of the series' second half, not on this window."""
        return 84 if self.grain == DAY else 18


RESOURCE_DAILY = """
    select
        service as slice_value,
        hour_date as period_date,
        sum({column} * samples) / nullif(sum(samples), 0) as value
    from marts.fct_resource_utilization_hourly
    group by service, hour_date
"""

SERIES: tuple[SeriesSpec, ...] = (
    SeriesSpec(
        "revenue",
        "total",
        DAY,
        30,
        "select 'all' as slice_value, revenue_date as period_date, "
        "revenue_amount as value from marts.fct_revenue_daily",
        fill="zero",
    ),
    SeriesSpec(
        "revenue",
        "plan",
        DAY,
        30,
        "select plan_id as slice_value, revenue_date as period_date, "
        "revenue_amount as value from marts.fct_revenue_plan_daily",
        fill="zero",
    ),
    SeriesSpec(
        "mrr",
        "total",
        DAY,
        92,
        "select 'all' as slice_value, mrr_date as period_date, "
        "cast(mrr_amount as double precision) as value from marts.fct_mrr_daily",
        thresholds="registry",
        month_ends=True,
    ),
    SeriesSpec(
        "mrr",
        "plan",
        MONTH,
        3,
        "select plan_id as slice_value, month_start_date as period_date, "
        "cast(sum(mrr_amount) as double precision) as value "
        "from marts.fct_customer_mrr_monthly where plan_id is not null "
        "group by plan_id, month_start_date",
        fill="zero",
    ),
    SeriesSpec(
        "new_users",
        "total",
        DAY,
        30,
        "select 'all' as slice_value, created_date as period_date, "
        "cast(count(user_id) as double precision) as value "
        "from marts.dim_users group by created_date",
        fill="zero",
    ),
    SeriesSpec(
        "active_customers",
        "total",
        DAY,
        30,
        "select 'all' as slice_value, mrr_date as period_date, "
        "cast(active_customers as double precision) as value from marts.fct_mrr_daily",
        thresholds="registry",
    ),
    SeriesSpec(
        "latency_p95_ms",
        "service",
        DAY,
        30,
        "select service as slice_value, slo_date as period_date, "
        "p95_latency_ms as value from marts.fct_slo_daily where requests > 0",
        thresholds="registry",
    ),
    SeriesSpec(
        "throughput_rps",
        "service",
        DAY,
        30,
        "select service as slice_value, slo_date as period_date, "
        "cast(requests as double precision) / 86400 as value "
        "from marts.fct_slo_daily where requests > 0",
        thresholds="registry",
    ),
    SeriesSpec(
        "cpu_utilization",
        "service",
        DAY,
        90,
        RESOURCE_DAILY.format(column="avg_cpu_utilization_pct"),
        ceiling=100.0,
        thresholds="registry",
    ),
    SeriesSpec(
        "memory_utilization",
        "service",
        DAY,
        90,
        RESOURCE_DAILY.format(column="avg_memory_utilization_pct"),
        ceiling=100.0,
        thresholds="registry",
    ),
    SeriesSpec(
        "queue_depth",
        "service",
        DAY,
        90,
        "select service as slice_value, hour_date as period_date, "
        "cast(max(max_queue_depth) as double precision) as value "
        "from marts.fct_resource_utilization_hourly group by service, hour_date",
        thresholds="own",
    ),
)
CAPACITY_METRICS = ("cpu_utilization", "memory_utilization", "queue_depth")


def month_start(day: date) -> date:
    return day.replace(day=1)


def last_complete_month(as_of: date) -> date:
    """The first day of the last month whose every day is on or before `as_of`."""
    following = (pd.Timestamp(as_of) + pd.Timedelta(days=1)).date()
    return (pd.Timestamp(month_start(following)) - pd.DateOffset(months=1)).date()


def prepare(rows: pd.DataFrame, spec: SeriesSpec, as_of: date) -> pd.Series:
    """One slice's values on a regular calendar ending at `as_of` (or, monthly, at its last
    complete month), from its first observation; missing periods filled per `spec.fill`
    (`observed_count` counts the periods really measured)."""
    values = rows.set_index(pd.to_datetime(rows["period_date"]))["value"].astype(float)
    values = values[values.index <= pd.Timestamp(as_of)].sort_index()
    values = values[~values.index.duplicated(keep="last")].dropna()
    if spec.grain == MONTH:
        end = pd.Timestamp(last_complete_month(as_of))
        values = values[values.index <= end]
        calendar = pd.date_range(values.index.min(), end, freq="MS") if len(values) else []
    else:
        end = pd.Timestamp(as_of)
        calendar = pd.date_range(values.index.min(), end, freq="D") if len(values) else []
    series = values.reindex(calendar)
    if spec.fill == "zero":
        return series.fillna(0.0)
    return series.interpolate(limit_direction="both")


def observed_count(rows: pd.DataFrame, as_of: date) -> int:
    """How many periods of the slice were really measured on or before `as_of`."""
    dates = pd.to_datetime(rows["period_date"])
    return int(rows.loc[dates <= pd.Timestamp(as_of), "value"].notna().sum())


def future_dates(spec: SeriesSpec, last: pd.Timestamp, horizon: int) -> list[date]:
    """The dates forecast after the last period `last`."""
    if spec.grain == MONTH:
        return [(last + pd.DateOffset(months=step)).date() for step in range(1, horizon + 1)]
    return [(last + pd.Timedelta(days=step)).date() for step in range(1, horizon + 1)]


def month_end_steps(last: date, horizon: int) -> list[int]:
    """The horizon days (1-based) of the month ends within `horizon` days after `last`
    (at least the first one, even beyond the horizon)."""
    steps, month = [], pd.Timestamp(month_start(last))
    while not steps or steps[-1] < horizon:
        month_end = month + pd.offsets.MonthEnd(0)
        if month_end.date() > last:
            steps.append((month_end.date() - last).days)
        month += pd.DateOffset(months=1)
    return [step for step in steps if step <= horizon] or steps[:1]
