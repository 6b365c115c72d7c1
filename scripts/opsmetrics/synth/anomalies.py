"""Planted business anomalies, and the manifest entries of everything planted.

Besides the platform incidents (`platform.make_incidents`), the generator plants four
business anomalies at deterministic times in the second half of the history, each from
its own random stream so that nothing else drawn changes:

- `revenue_drop`: one weekday on which a payment-processor outage fails 85 % of the
  subscription charges (they are written as failed charges);
- `signup_dip`: six days on which the sign-up page is broken: no account signs up, and
  the blocked sign-ups complete over the three days after (sign-up times inside the nine
  days are compressed, in order, into the last three);
- `host_running_hot`: one host whose CPU runs 30 points hotter for eight hours (a
  runaway process), with no traffic change;
- `churn_spike_month`: in one calendar month 20 % of the customers paying on a single
  subscription cancel it (a competitor's campaign). Applied to the finished subscription
  log and its transactions (later versions and charges of those subscriptions removed),
  not inside the step-by-step simulation, which would redraw every later subscription;
  the churners' users and product usage are left as generated.

`manifest_entries` lists every planted incident and anomaly with its exact UTC window.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import numpy as np

from opsmetrics.synth.common import DAY, HOUR, SECOND, Context

if TYPE_CHECKING:
    from opsmetrics.synth.billing import SubscriptionLog

SIGNUP_BLOCKED_DAYS = 6
SIGNUP_CATCH_UP_DAYS = 3
REVENUE_FAILED_SHARE = 0.85
HOT_HOURS = 8
HOT_EXTRA_CPU = 30.0
CHURN_SPIKE_SHARE = 0.20
ACTIVE, CANCELED = 1, 4
"""Subscription status codes (billing.STATUSES)."""


@dataclass(frozen=True)
class Plan:
    """Start (µs, midnight or hour UTC) of each planted business anomaly."""

    revenue_drop_day: int
    signup_dip_start: int
    host_hot_start: int
    host_hot_index: int
    churn_month_start: int
    churn_month_end: int


def plan(ctx: Context, n_hosts: int) -> Plan:
    rng = ctx.rng("anomalies")
    first = ctx.days // 2
    last = ctx.days - 14
    start_days = ctx.start_us // DAY
    revenue_day = int(start_days + rng.integers(first, last))
    while (revenue_day + 3) % 7 >= 5:  # Saturday or Sunday (1970-01-01 was a Thursday)
        revenue_day += 1
    dip = int(start_days + rng.integers(first, last))
    hot = ctx.start_us + int(rng.integers(first, last)) * DAY + int(rng.integers(0, 16)) * HOUR
    host = int(rng.integers(0, n_hosts))
    month = np.datetime64(ctx.start_us + int(rng.integers(first, last - 31)) * DAY, "us")
    month_start = month.astype("datetime64[M]") + np.timedelta64(1, "M")
    bounds = [int((month_start + k).astype("datetime64[us]").astype(np.int64)) for k in (0, 1)]
    return Plan(revenue_day * DAY, dip * DAY, hot, host, *bounds)


def churn_spike(
    ctx: Context, planted: Plan, log: SubscriptionLog
) -> tuple[SubscriptionLog, dict[int, int]]:
    """The log with the spike month's extra cancellations, and {subscription: cancel
    time} of the subscriptions it cancelled."""
    start, end = planted.churn_month_start, planted.churn_month_end
    subs_of_customer = np.bincount(log.customer[np.unique(log.sub, return_index=True)[1]])
    single = subs_of_customer[log.customer] == 1
    before = log.valid_from <= start
    same_sub_after = np.r_[log.sub[1:] == log.sub[:-1], False]
    next_from = np.where(same_sub_after, np.r_[log.valid_from[1:], 0], np.iinfo(np.int64).max)
    in_force = before & (next_from > start)
    candidates = np.flatnonzero(in_force & single & (log.status == ACTIVE) & (next_from >= end))
    rng = ctx.rng("anomalies/churn")
    chosen = candidates[rng.random(len(candidates)) < CHURN_SPIKE_SHARE]
    when = start + rng.integers(DAY, end - start - DAY, len(chosen))
    cancelled = dict(zip(log.sub[chosen].tolist(), when.tolist(), strict=True))
    keep = ~(np.isin(log.sub, log.sub[chosen]) & (log.valid_from > start))
    arrays = {}
    for field in fields(log):
        values = getattr(log, field.name)
        added = values[chosen]
        if field.name == "status":
            added = np.full(len(chosen), CANCELED)
        elif field.name == "valid_from":
            added = when
        arrays[field.name] = np.concatenate([values[keep], added])
    order = np.lexsort((arrays["valid_from"], arrays["sub"]))
    result = type(log)(**{name: values[order] for name, values in arrays.items()})
    return result, cancelled


def drop_after_churn(txns: dict[str, np.ndarray], cancelled: dict[int, int]) -> None:
    """Remove, in place, the charges and refunds of cancelled subscriptions from their
    cancellation on; every other transaction keeps its id."""
    txns.setdefault("id", np.arange(1, len(txns["time"]) + 1))
    never = np.iinfo(np.int64).max
    cancel_at = np.full(int(max(txns["sub"].max(initial=0), *cancelled, 0)) + 1, never)
    for sub, when in cancelled.items():
        cancel_at[sub] = when
    limit = np.where(txns["sub"] >= 0, cancel_at[np.maximum(txns["sub"], 0)], never)
    keep = txns["time"] < limit
    for name in list(txns):
        txns[name] = txns[name][keep]


def _revenue_day_mask(txns: dict[str, np.ndarray], day_start: int) -> np.ndarray:
    in_day = (txns["time"] >= day_start) & (txns["time"] < day_start + DAY)
    return in_day & (txns["type"] == 0) & (txns["status"] == 0) & (txns["sub"] >= 0)


def revenue_drop(ctx: Context, planted: Plan, txns: dict[str, np.ndarray]) -> None:
    """Fail `REVENUE_FAILED_SHARE` of the day's succeeded subscription charges, in place."""
    rng = ctx.rng("anomalies/revenue")
    charges = np.flatnonzero(_revenue_day_mask(txns, planted.revenue_drop_day))
    failed = charges[rng.random(len(charges)) < REVENUE_FAILED_SHARE]
    txns["status"][failed] = 1


def signup_dip(planted: Plan, signed_up: np.ndarray) -> None:
    """Compress the sign-ups of the blocked days and the catch-up days into the catch-up
    days, in place and in order (customer ids stay in sign-up order)."""
    start = planted.signup_dip_start
    resume = start + SIGNUP_BLOCKED_DAYS * DAY
    end = resume + SIGNUP_CATCH_UP_DAYS * DAY
    inside = (signed_up >= start) & (signed_up < end)
    ratio = SIGNUP_CATCH_UP_DAYS / (SIGNUP_BLOCKED_DAYS + SIGNUP_CATCH_UP_DAYS)
    signed_up[inside] = resume + ((signed_up[inside] - start) * ratio).astype(np.int64)


def host_running_hot(planted: Plan, base: dict[str, np.ndarray], cpu_metric: int) -> None:
    """Add `HOT_EXTRA_CPU` points (capped at 100) to one host's CPU samples, in place."""
    end = planted.host_hot_start + HOT_HOURS * HOUR
    hit = (
        (base["_host"] == planted.host_hot_index)
        & (base["_metric"] == cpu_metric)
        & (base["_ts"] >= planted.host_hot_start)
        & (base["_ts"] < end)
    )
    base["_value"][hit] = np.round(np.minimum(base["_value"][hit] + HOT_EXTRA_CPU, 100.0), 2)


def _iso(us: int) -> str:
    return datetime.fromtimestamp(us / SECOND, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def manifest_entries(
    planted: Plan, incidents: list[tuple[str, str, int, int]], host_name: str
) -> list[dict]:
    """Every planted incident and anomaly: kind, what it affects, exact [start, end)."""
    affected = {
        "outage": ["uptime_pct", "error_rate", "requests", "cpu_utilization"],
        "error_burst": ["error_rate", "cpu_utilization"],
        "latency_spike": ["latency_p95_ms", "cpu_utilization"],
    }
    entries = [
        {
            "kind": kind,
            "metrics": affected[kind],
            "slice_name": "service",
            "slice_value": service,
            "start": _iso(start),
            "end": _iso(end),
        }
        for kind, service, start, end in sorted(incidents, key=lambda i: i[2])
    ]
    dip_end = planted.signup_dip_start + SIGNUP_BLOCKED_DAYS * DAY
    hot_end = planted.host_hot_start + HOT_HOURS * HOUR
    entries += [
        {
            "kind": "churn_spike_month",
            "metrics": [
                "logo_churn_rate",
                "churned_customers",
                "churned_mrr",
                "gross_mrr_churn_rate",
                "net_revenue_retention",
                "gross_revenue_retention",
                "net_new_mrr",
                "mrr",
                "active_customers",
                "revenue",
            ],
            "slice_name": "total",
            "slice_value": "all",
            "start": _iso(planted.churn_month_start),
            "end": _iso(planted.churn_month_end),
        },
        {
            "kind": "revenue_drop",
            "metrics": ["revenue", "transactions"],
            "slice_name": "total",
            "slice_value": "all",
            "start": _iso(planted.revenue_drop_day),
            "end": _iso(planted.revenue_drop_day + DAY),
        },
        {
            "kind": "signup_dip",
            "metrics": ["new_users"],
            "slice_name": "total",
            "slice_value": "all",
            "start": _iso(planted.signup_dip_start),
            "end": _iso(dip_end),
        },
        {
            "kind": "host_running_hot",
            "metrics": ["cpu_utilization"],
            "slice_name": "host",
            "slice_value": host_name,
            "start": _iso(planted.host_hot_start),
            "end": _iso(hot_end),
        },
    ]
    return entries
