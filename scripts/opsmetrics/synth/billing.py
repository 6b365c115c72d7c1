"""Money: exchange rates, the subscription change log, payments and acquisition spend.

Subscriptions are simulated step by step in time (about monthly), vectorised over all
subscriptions at once: each step, every live subscription may upgrade, downgrade, fall
past due, pause, cancel or (once canceled) come back.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field

import numpy as np

from opsmetrics.settings import project_dir
from opsmetrics.synth.accounts import SEGMENTS, Customers, channel_names
from opsmetrics.synth.common import (
    DAY,
    HOUR,
    MINUTE,
    Context,
    day_index,
    floor_to_precision,
    iso_sql,
    loaded_after,
    lookup_sql,
    pick,
    repeat_ranges,
    server_offsets,
)
from opsmetrics.synth.writer import (
    Defect,
    TableBuild,
    non_finite_defect,
    standard_defects,
    tied_defect,
    unparseable_defect,
)

FX_LEVELS = {"EUR": 1.08, "GBP": 1.27, "CAD": 0.74, "AUD": 0.66, "JPY": 0.0067,
             "CHF": 1.12, "SEK": 0.095}  # fmt: skip
"""Starting USD value of one unit; CHF and SEK have rates but no customers."""
CURRENCIES = ("USD", *FX_LEVELS)
ZERO_DECIMAL = ("JPY",)

STATUSES = ("trialing", "active", "past_due", "paused", "canceled")
TRIALING, ACTIVE, PAST_DUE, PAUSED, CANCELED = range(5)
DONE = 9
"""Simulation-only state: nothing more happens to this subscription."""
INTERVALS = ("month", "quarter", "year")
INTERVAL_MONTHS = np.array([1, 3, 12])
TRIAL = 14 * DAY

START_PLAN = {
    "smb": {"starter": 0.6, "growth": 0.35, "business": 0.05},
    "mid_market": {"starter": 0.1, "growth": 0.5, "business": 0.35, "enterprise": 0.05},
    "enterprise": {"growth": 0.1, "business": 0.45, "enterprise": 0.45},
}
START_INTERVAL = {
    "smb": {"month": 0.75, "quarter": 0.10, "year": 0.15},
    "mid_market": {"month": 0.55, "quarter": 0.15, "year": 0.30},
    "enterprise": {"month": 0.25, "quarter": 0.15, "year": 0.60},
}
SEATS = {"smb": (1, 3.0), "mid_market": (5, 15.0), "enterprise": (20, 80.0)}
"""(minimum, extra Poisson mean) seats at conversion."""
MAX_SEATS = 120
"""Keeps every clean charge under 1,000,000 USD (staging's "absurd amount" line)."""
CHURN_BY_SEGMENT = np.array([1.3, 0.8, 0.5])
STRAIN_STEPS = 3
"""Steps (about months) after a downgrade or a failed payment during which churn is likelier."""
STRAIN_CHURN_FACTOR = 3.0

NONE, CANCEL, UPGRADE, DOWNGRADE, LATE_RECOVER, LATE_CANCEL, PAUSE = range(7)
REACTIVATE_SAME, REACTIVATE_NEW = 1, 2
SCRIPTS = (
    ((UPGRADE, DOWNGRADE), 0),
    ((PAUSE, NONE), 0),
    ((CANCEL, NONE), REACTIVATE_SAME),
    ((CANCEL, NONE), REACTIVATE_NEW),
    ((LATE_RECOVER, NONE), 0),
    ((LATE_CANCEL, NONE), 0),
)
"""Forced first steps of the earliest converted subscriptions, so that even the tiny scale
shows every behaviour at least once: (events of steps 1-2, how it comes back if canceled)."""


def plan_catalogue() -> tuple[tuple[str, ...], np.ndarray]:
    """Plan ids (cheapest first) and monthly list price per seat in USD, from seeds/plans.csv."""
    with (project_dir() / "seeds" / "plans.csv").open() as handle:
        rows = sorted(csv.DictReader(handle), key=lambda r: float(r["list_price_per_seat_usd"]))
    return tuple(r["plan_id"] for r in rows), np.array(
        [float(r["list_price_per_seat_usd"]) for r in rows]
    )


def make_fx(ctx: Context) -> np.ndarray:
    """USD per unit, shape (currency, day): a gentle log random walk; USD is 1."""
    rng = ctx.rng("fx")
    levels = np.array([1.0, *FX_LEVELS.values()])
    steps = rng.normal(0, 0.004, (len(levels), ctx.days))
    steps[:, 0] = 0
    steps[0] = 0
    rates = levels[:, None] * np.exp(np.cumsum(steps, axis=1))
    return np.round(rates, 8)


def fx_table(ctx: Context, fx: np.ndarray) -> TableBuild:
    rng = ctx.rng("fx/table")
    currency, day = np.divmod(np.arange((len(CURRENCIES) - 1) * ctx.days), ctx.days)
    ts = ctx.start_us + day * DAY
    published = ts + 16 * HOUR + rng.integers(0, HOUR, len(ts))
    build = TableBuild(
        name="fx_rates",
        base={
            "_ts": ts,
            "_loaded": loaded_after(rng, published, ctx.end_us, 30),
            "_currency": currency + 1,
            "_rate": fx[currency + 1, day],
        },
        columns={
            "rate_date": "strftime(_ts, '%Y-%m-%d')",
            "currency": lookup_sql(CURRENCIES, "_currency"),
            "rate_to_usd": "_rate",
        },
        key=("rate_date", "currency"),
        main="rate_date",
        date_main=True,
    )
    build.defects = [
        Defect("exact_duplicate"),
        Defect("resent_row"),
        tied_defect(build),
        Defect("missing_loaded_at", (("_loaded_at", "NULL"),)),
        unparseable_defect(build),
        non_finite_defect("rate_to_usd"),
        # A spike: one day's rate 10-1000 times the currency's level (never the first
        # day, which has no previous rate to compare with).
        Defect("implausible_value", (("rate_to_usd", "$expr * (10 + _darg % 990)"),), day > 0),
        # A rate in a code that is no currency (XXX: "no currency", XTS: testing).
        Defect("unknown_currency", (("currency", "'XXX'"), ("currency", "'XTS'"))),
    ]
    return build


def money(amount: np.ndarray, currency: np.ndarray) -> np.ndarray:
    """Round to the currency's minor unit (0 decimals for JPY, else 2)."""
    zero = np.isin(currency, [CURRENCIES.index(c) for c in ZERO_DECIMAL])
    return np.where(zero, np.round(amount), np.round(amount, 2))


@dataclass
class SubscriptionLog:
    """One row per subscription version, sorted by (subscription, valid_from)."""

    sub: np.ndarray
    customer: np.ndarray
    plan: np.ndarray
    status: np.ndarray
    interval: np.ndarray
    quantity: np.ndarray
    discount: np.ndarray
    currency: np.ndarray
    valid_from: np.ndarray
    unit_amount: np.ndarray = field(default_factory=lambda: np.empty(0))

    def __len__(self) -> int:
        return len(self.sub)


@dataclass
class _Slots:
    """State of every subscription during the simulation (one slot per subscription)."""

    customer: np.ndarray
    plan: np.ndarray
    interval: np.ndarray
    quantity: np.ndarray
    discount: np.ndarray
    currency: np.ndarray
    state: np.ndarray
    cursor: np.ndarray
    canceled_at: np.ndarray
    script: np.ndarray
    comeback: np.ndarray
    step: np.ndarray
    strain: np.ndarray
    """Steps left during which a recent downgrade or failed payment raises churn risk."""
    used: int = 0
    rows: list[dict[str, np.ndarray]] = field(default_factory=list)

    @classmethod
    def empty(cls, capacity: int) -> _Slots:
        def ints(value: int = 0) -> np.ndarray:
            return np.full(capacity, value, dtype=np.int64)

        script = np.full((capacity, 2), NONE, dtype=np.int64)
        return cls(
            *(ints() for _ in range(6)), ints(DONE), ints(), ints(), script, ints(), ints(), ints()
        )

    def allocate(self, count: int) -> np.ndarray:
        slots = np.arange(self.used, self.used + count)
        self.used += count
        return slots

    def emit(self, slots: np.ndarray, status: int, when: np.ndarray) -> None:
        """Record a new version of `slots` with their current attributes."""
        self.rows.append(
            {
                "sub": slots,
                "customer": self.customer[slots],
                "plan": self.plan[slots],
                "status": np.full(len(slots), status),
                "interval": self.interval[slots],
                "quantity": self.quantity[slots],
                "discount": self.discount[slots],
                "currency": self.currency[slots],
                "valid_from": when,
            }
        )


def _discounts(rng: np.random.Generator, interval: np.ndarray) -> np.ndarray:
    """Annual plans are mostly discounted 15-20 %, quarterly a little, monthly rarely."""
    n = len(interval)
    by_interval = np.stack(
        [
            np.where(rng.random(n) < 0.1, 10.0, 0.0),
            rng.choice([0.0, 5.0, 10.0], n, p=[0.5, 0.3, 0.2]),
            rng.choice([15.0, 20.0, 10.0], n, p=[0.5, 0.3, 0.2]),
        ]
    )
    return by_interval[interval, np.arange(n)]


def _start_terms(
    rng: np.random.Generator, slots: _Slots, idx: np.ndarray, segment: np.ndarray
) -> None:
    plans, _ = plan_catalogue()
    for code, name in enumerate(SEGMENTS):
        mask = segment == code
        chosen = idx[mask]
        plan_weights = {p: START_PLAN[name].get(p, 0.0) for p in plans}
        slots.plan[chosen] = pick(rng, plan_weights, len(chosen))
        slots.interval[chosen] = pick(rng, START_INTERVAL[name], len(chosen))
        minimum, extra = SEATS[name]
        slots.quantity[chosen] = np.minimum(minimum + rng.poisson(extra, len(chosen)), MAX_SEATS)
    slots.discount[idx] = _discounts(rng, slots.interval[idx])


def _start_trials(
    ctx: Context, rng: np.random.Generator, slots: _Slots, customers: Customers
) -> None:
    """Every customer starts a 14-day trial at sign-up, then converts or cancels."""
    n = len(customers)
    idx = slots.allocate(n)
    slots.customer[idx] = idx
    slots.currency[idx] = customers.currency_codes(CURRENCIES)
    _start_terms(rng, slots, idx, customers.segment)
    start = customers.signed_up + rng.integers(MINUTE, 15 * MINUTE, n)
    trial_end = start + TRIAL
    decided = trial_end < ctx.end_us
    odds = 0.1 + 0.9 * customers.satisfaction + np.array([0.0, 0.3, 0.6])[customers.segment]
    converts = rng.random(n) < 1 / (1 + np.exp(-odds))
    first_decided = np.flatnonzero(decided)[:2]
    converts[first_decided] = [True, False][: len(first_decided)]
    won, lost = idx[decided & converts], idx[decided & ~converts]
    slots.cursor[won] = trial_end[won]
    _assign_scripts(ctx, slots, won)
    slots.emit(idx, TRIALING, start)
    slots.emit(won, ACTIVE, trial_end[won])
    slots.emit(lost, CANCELED, trial_end[lost])
    slots.state[won] = ACTIVE
    _quick_cancels(ctx, rng, slots, won)


def _assign_scripts(ctx: Context, slots: _Slots, won: np.ndarray) -> None:
    early = won[slots.cursor[won] < ctx.start_us + (ctx.end_us - ctx.start_us) // 2]
    early = early[slots.plan[early] < 3]
    for slot, (events, comeback) in zip(early, SCRIPTS, strict=False):
        slots.script[slot] = events
        slots.comeback[slot] = comeback
    scripted = early[: len(SCRIPTS)]
    if len(scripted) >= 2:
        slots.interval[scripted[:2]] = [2, 1]
        slots.discount[scripted[:2]] = [20.0, 5.0]


def _quick_cancels(ctx: Context, rng: np.random.Generator, slots: _Slots, won: np.ndarray) -> None:
    """A few subscriptions cancel within days of starting (often in the same month)."""
    candidates = won[(slots.comeback[won] == 0) & (slots.script[won, 0] == NONE)]
    chosen = candidates[rng.random(len(candidates)) < 0.03]
    chosen = np.union1d(chosen, candidates[:1]) if len(candidates) else chosen
    when = slots.cursor[chosen] + rng.integers(2 * DAY, 10 * DAY, len(chosen))
    chosen, when = chosen[when < ctx.end_us], when[when < ctx.end_us]
    slots.emit(chosen, CANCELED, when)
    slots.state[chosen] = DONE


def _add_second_subscriptions(
    ctx: Context, rng: np.random.Generator, slots: _Slots, customers: Customers
) -> None:
    """Some mid-market and enterprise customers run a second, overlapping subscription."""
    live = np.flatnonzero(slots.state[: slots.used] == ACTIVE)
    share = np.array([0.02, 0.08, 0.15])[customers.segment[slots.customer[live]]]
    chosen = live[rng.random(len(live)) < share]
    chosen = np.union1d(chosen, live[-1:]) if len(live) else chosen
    when = slots.cursor[chosen] + rng.integers(20 * DAY, 120 * DAY, len(chosen))
    chosen, when = chosen[when < ctx.end_us], when[when < ctx.end_us]
    new = slots.allocate(len(chosen))
    slots.customer[new] = slots.customer[chosen]
    slots.currency[new] = slots.currency[chosen]
    slots.plan[new] = (slots.plan[chosen] + 1 + rng.integers(0, 3, len(new))) % 4
    slots.interval[new] = 0
    slots.quantity[new] = 1 + rng.poisson(4, len(new))
    slots.discount[new] = 0.0
    slots.emit(new, ACTIVE, when)
    slots.state[new] = ACTIVE
    slots.cursor[new] = when


def _draw_events(
    rng: np.random.Generator, slots: _Slots, live: np.ndarray, customers: Customers
) -> np.ndarray:
    customer = slots.customer[live]
    churn = (
        0.022
        * np.exp(-0.9 * customers.satisfaction[customer])
        * CHURN_BY_SEGMENT[customers.segment[customer]]
        * np.where(slots.strain[live] > 0, STRAIN_CHURN_FACTOR, 1.0)
    )
    cumulative = np.stack([churn + p for p in (0.0, 0.045, 0.065, 0.086, 0.095, 0.107)], axis=1)
    events = 1 + (rng.random(len(live))[:, None] > cumulative).sum(axis=1)
    events[events > PAUSE] = NONE
    step = slots.step[live]
    forced = np.where(step < 2, slots.script[live, np.minimum(step, 1)], NONE)
    scripted = slots.script[live].any(axis=1) & (step < 2)
    return np.where(scripted, forced, events)


def _change_plan(rng: np.random.Generator, slots: _Slots, idx: np.ndarray, up: bool) -> np.ndarray:
    """Upgrade (plan or seats up) or downgrade; returns the slots that really changed."""
    plan, seats = slots.plan[idx], slots.quantity[idx]
    coin = rng.random(len(idx)) < 0.5
    if up:
        by_plan = (plan < 3) & coin
        slots.plan[idx] = np.where(by_plan, plan + 1, plan)
        grown = np.ceil(seats * rng.uniform(1.1, 1.5, len(idx))).astype(np.int64)
        grown = np.minimum(np.maximum(grown, seats + 1), MAX_SEATS)
        slots.quantity[idx] = np.where(by_plan, seats, grown)
        return idx[by_plan | (grown > seats)]
    by_plan = (plan > 0) & (coin | (seats <= 1))
    by_seats = ~by_plan & (seats > 1)
    slots.plan[idx] = np.where(by_plan, plan - 1, plan)
    shrunk = np.floor(seats * rng.uniform(0.6, 0.9, len(idx))).astype(np.int64)
    slots.quantity[idx] = np.where(by_seats, np.clip(shrunk, 1, seats - 1), seats)
    return idx[by_plan | by_seats]


def _episode(
    ctx: Context,
    rng: np.random.Generator,
    slots: _Slots,
    idx: np.ndarray,
    when: np.ndarray,
    status: int,
    then: int,
    days: tuple[int, int],
) -> None:
    """A temporary state (past due, paused) that ends in `then` after some days."""
    slots.emit(idx, status, when)
    back = when + rng.integers(days[0] * DAY, days[1] * DAY, len(idx))
    ends = back < ctx.end_us
    slots.emit(idx[ends], then, back[ends])
    slots.cursor[idx[ends]] = back[ends]
    slots.state[idx[~ends]] = DONE
    if then == CANCELED:
        slots.state[idx[ends]] = CANCELED
        slots.canceled_at[idx[ends]] = back[ends]


def _step_live(ctx: Context, rng: np.random.Generator, slots: _Slots, customers: Customers) -> None:
    live = np.flatnonzero(slots.state[: slots.used] == ACTIVE)
    when = slots.cursor[live] + rng.integers(20 * DAY, 40 * DAY, len(live))
    over = when >= ctx.end_us
    slots.state[live[over]] = DONE
    live, when = live[~over], when[~over]
    events = _draw_events(rng, slots, live, customers)
    slots.step[live] += 1
    slots.cursor[live] = when
    slots.strain[live] = np.maximum(slots.strain[live] - 1, 0)
    slots.strain[live[np.isin(events, (DOWNGRADE, LATE_RECOVER))]] = STRAIN_STEPS
    for event in (UPGRADE, DOWNGRADE):
        mask = events == event
        changed = _change_plan(rng, slots, live[mask], up=event == UPGRADE)
        slots.emit(changed, ACTIVE, slots.cursor[changed])
    cancel = live[events == CANCEL]
    slots.emit(cancel, CANCELED, when[events == CANCEL])
    slots.state[cancel] = CANCELED
    slots.canceled_at[cancel] = when[events == CANCEL]
    for event, status, then, days in (
        (LATE_RECOVER, PAST_DUE, ACTIVE, (3, 10)),
        (LATE_CANCEL, PAST_DUE, CANCELED, (7, 21)),
        (PAUSE, PAUSED, ACTIVE, (30, 90)),
    ):
        mask = events == event
        _episode(ctx, rng, slots, live[mask], when[mask], status, then, days)


def _step_canceled(ctx: Context, rng: np.random.Generator, slots: _Slots) -> None:
    """Canceled customers sometimes come back months later: same or new subscription."""
    gone = np.flatnonzero(slots.state[: slots.used] == CANCELED)
    when = slots.cursor[gone] + rng.integers(20 * DAY, 40 * DAY, len(gone))
    over = when >= ctx.end_us
    slots.state[gone[over]] = DONE
    gone, when = gone[~over], when[~over]
    slots.cursor[gone] = when
    waited = when - slots.canceled_at[gone] >= 30 * DAY
    comeback = slots.comeback[gone]
    back = waited & ((comeback > 0) | (rng.random(len(gone)) < 0.03))
    same = back & np.where(comeback > 0, comeback == REACTIVATE_SAME, rng.random(len(gone)) < 0.5)
    slots.comeback[gone[back]] = 0
    slots.emit(gone[same], ACTIVE, when[same])
    slots.state[gone[same]] = ACTIVE
    old = gone[back & ~same]
    new = slots.allocate(len(old))
    for name in ("customer", "plan", "interval", "quantity", "discount", "currency"):
        getattr(slots, name)[new] = getattr(slots, name)[old]
    slots.state[old] = DONE
    slots.emit(new, ACTIVE, when[back & ~same])
    slots.state[new] = ACTIVE
    slots.cursor[new] = when[back & ~same]


def simulate_subscriptions(ctx: Context, customers: Customers, fx: np.ndarray) -> SubscriptionLog:
    """The subscription change log of every customer, priced in the customer's currency."""
    rng = ctx.rng("subscriptions")
    slots = _Slots.empty(3 * len(customers) + 16)
    _start_trials(ctx, rng, slots, customers)
    _add_second_subscriptions(ctx, rng, slots, customers)
    while np.isin(slots.state[: slots.used], (ACTIVE, CANCELED)).any():
        _step_live(ctx, rng, slots, customers)
        _step_canceled(ctx, rng, slots)
    rows = {name: np.concatenate([r[name] for r in slots.rows]) for name in slots.rows[0]}
    order = np.lexsort((rows["valid_from"], rows["sub"]))
    log = SubscriptionLog(**{name: values[order] for name, values in rows.items()})
    _, list_price = plan_catalogue()
    local = list_price[log.plan] * INTERVAL_MONTHS[log.interval]
    rate = fx[log.currency, day_index(log.valid_from, ctx.start_us)]
    log.unit_amount = money(local / rate, log.currency)
    return log


@dataclass
class Lifecycle:
    """Per customer: when they first paid and when they finally churned (NEVER if not)."""

    live_from: np.ndarray
    ended: np.ndarray
    converted: np.ndarray


NEVER = np.iinfo(np.int64).max // 4


def lifecycle(log: SubscriptionLog, n_customers: int) -> Lifecycle:
    live_from = np.full(n_customers, NEVER)
    paying = log.status == ACTIVE
    np.minimum.at(live_from, log.customer[paying], log.valid_from[paying])
    last = np.r_[np.flatnonzero(log.sub[1:] != log.sub[:-1]), len(log) - 1]
    open_subs = np.bincount(
        log.customer[last], weights=log.status[last] != CANCELED, minlength=n_customers
    )
    ended = np.zeros(n_customers, dtype=np.int64)
    np.maximum.at(ended, log.customer[last], log.valid_from[last])
    ended = np.where(open_subs > 0, NEVER, ended)
    return Lifecycle(live_from, ended, live_from < NEVER)


def subscriptions_table(ctx: Context, log: SubscriptionLog) -> TableBuild:
    rng = ctx.rng("subscriptions/table")
    n = len(log)
    plans, _ = plan_catalogue()
    fractional = rng.random(n) < 0.2
    build = TableBuild(
        name="subscriptions",
        base={
            "_sub": log.sub + 1,
            "_customer": log.customer + 1,
            "_plan": log.plan,
            "_status": log.status,
            "_interval": log.interval,
            "_quantity": log.quantity,
            "_unit": log.unit_amount,
            "_discount": log.discount,
            "_currency": log.currency,
            "_ts": floor_to_precision(log.valid_from, fractional),
            "_loaded": loaded_after(rng, log.valid_from, ctx.end_us, 30),
            "_off": server_offsets(rng, n),
            "_frac": fractional,
        },
        columns={
            "subscription_id": "printf('sub_%07d', _sub)",
            "customer_id": "printf('cus_%06d', _customer)",
            "plan_id": lookup_sql(plans, "_plan"),
            "status": lookup_sql(STATUSES, "_status"),
            "billing_interval": lookup_sql(INTERVALS, "_interval"),
            "quantity": "_quantity",
            "unit_amount": "_unit",
            "discount_percent": "_discount",
            "currency": lookup_sql(CURRENCIES, "_currency"),
            "valid_from": iso_sql("_ts"),
        },
        key=("subscription_id", "valid_from"),
        main="valid_from",
    )
    build.defects = [
        *standard_defects(build, ctx, nullable=()),
        *money_defects("unit_amount"),
        non_finite_defect("unit_amount", "discount_percent"),
        Defect(
            "out_of_range_value",
            (
                ("discount_percent", "case when _darg % 4 = 0 then -10.0 else 150.0 end"),
                ("quantity", "case when _darg % 4 = 1 then 0 else -1 - _quantity end"),
            ),
        ),
        # 10^12 seats: far above max_plausible_quantity, and enough to overflow the
        # numeric(18, 6) MRR if it were staged.
        Defect("implausible_value", (("quantity", "1000000000000 + _darg"),)),
        Defect("orphan_foreign_key", (("customer_id", "'cus_999999x'"),)),
        # Valid, not a defect staging rejects: a cancellation needs no price.
        Defect(
            "canceled_without_price",
            tuple((c, "NULL") for c in ("quantity", "unit_amount", "discount_percent", "currency")),
            log.status == CANCELED,
        ),
    ]
    return build


def money_defects(column: str) -> list[Defect]:
    """invalid_amount (negative or absurdly large) and unknown_currency on a money column."""
    return [
        Defect(
            "invalid_amount",
            ((column, "-abs($expr) - 1"), (column, "abs($expr) * 1000 + 1000000000")),
        ),
        Defect("unknown_currency", (("currency", "'XXX'"), ("currency", "'ZZZ'"))),
    ]


def add_months(times: np.ndarray, months: np.ndarray) -> np.ndarray:
    """Calendar-month arithmetic on µs times, clamping to the target month's last day."""
    stamp = times.view("datetime64[us]")
    month_start = stamp.astype("datetime64[M]")
    into = (stamp - month_start.astype("datetime64[us]")).astype(np.int64)
    target = month_start + months.astype("timedelta64[M]")
    length = (
        (target + np.timedelta64(1, "M")).astype("datetime64[us]") - target.astype("datetime64[us]")
    ).astype(np.int64)
    into = np.minimum(into, length - DAY + into % DAY)
    return target.astype("datetime64[us]").astype(np.int64) + into


def _billing_periods(ctx: Context, log: SubscriptionLog) -> tuple[np.ndarray, np.ndarray]:
    """(version row, period start) of every billing period that starts in a billable version."""
    n = len(log)
    same_sub_before = np.r_[False, log.sub[1:] == log.sub[:-1]]
    previous = np.r_[TRIALING, log.status[:-1]]
    starts_run = (log.status == ACTIVE) & (
        ~same_sub_before | np.isin(previous, (TRIALING, CANCELED))
    )
    anchor_row = np.maximum.accumulate(np.where(starts_run, np.arange(n), 0))
    anchor = log.valid_from[anchor_row]
    same_sub_after = np.r_[log.sub[1:] == log.sub[:-1], False]
    version_end = np.where(same_sub_after, np.r_[log.valid_from[1:], 0], ctx.end_us)
    billable = np.flatnonzero(np.isin(log.status, (ACTIVE, PAST_DUE)))
    months = INTERVAL_MONTHS[log.interval[billable]]
    month_us = 30.436875 * DAY
    first = np.maximum(((log.valid_from[billable] - anchor[billable]) / month_us // months) - 1, 0)
    last = (version_end[billable] - anchor[billable]) / month_us // months + 1
    counts = (last - first + 1).astype(np.int64)
    group, rank = repeat_ranges(counts)
    row = billable[group]
    period = (first[group] + rank).astype(np.int64) * months[group]
    start = add_months(anchor[row], period)
    inside = (start >= log.valid_from[row]) & (start < version_end[row])
    return row[inside], start[inside]


def make_transactions(
    ctx: Context, log: SubscriptionLog, customers: Customers, fx: np.ndarray
) -> dict[str, np.ndarray]:
    """Charges per billing period, failures and retries, past-due attempts, refunds, one-offs."""
    rng = ctx.rng("transactions")
    n_log = len(log)
    due = log.quantity * log.unit_amount * (1 - log.discount / 100)
    row, when = _billing_periods(ctx, log)
    failed_now = log.status[row] == PAST_DUE
    roll = rng.random(len(row))
    retried = ~failed_now & (roll < 0.02)
    recent = when > ctx.end_us - 2 * DAY
    pending = ~failed_now & ~retried & ((roll > 0.996) | (recent & (roll > 0.5)))
    status = np.where(failed_now | retried, 1, np.where(pending, 2, 0))
    retry_at = when[retried] + rng.integers(2 * DAY, 5 * DAY, retried.sum())
    late = np.flatnonzero(log.status == PAST_DUE)
    follows = late + 1 < n_log
    recovered = late[follows][
        (log.sub[late[follows] + 1] == log.sub[late[follows]])
        & (log.status[late[follows] + 1] == ACTIVE)
    ]
    parts = [
        (row, when, status),
        (row[retried][retry_at < ctx.end_us], retry_at[retry_at < ctx.end_us], 0),
        (late, log.valid_from[late], 1),
        (recovered, log.valid_from[recovered + 1], 0),
    ]
    rows = np.concatenate([p[0] for p in parts])
    times = np.concatenate([p[1] for p in parts])
    statuses = np.concatenate([np.broadcast_to(p[2], len(p[0])) for p in parts])
    charges = {
        "customer": log.customer[rows],
        "sub": log.sub[rows],
        "type": np.zeros(len(rows), dtype=np.int64),
        "status": statuses,
        "amount": money(due[rows], log.currency[rows]),
        "currency": log.currency[rows],
        "time": times,
    }
    return _with_refunds_and_one_offs(ctx, rng, charges, customers, log, fx)


def _with_refunds_and_one_offs(
    ctx: Context,
    rng: np.random.Generator,
    charges: dict[str, np.ndarray],
    customers: Customers,
    log: SubscriptionLog,
    fx: np.ndarray,
) -> dict[str, np.ndarray]:
    paid = np.flatnonzero(charges["status"] == 0)
    refunded = np.union1d(paid[rng.random(len(paid)) < 0.012], paid[:1])
    refund_at = charges["time"][refunded] + rng.integers(2 * DAY, 30 * DAY, len(refunded))
    refunded, refund_at = refunded[refund_at < ctx.end_us], refund_at[refund_at < ctx.end_us]
    partial = rng.random(len(refunded)) < 0.3
    share = np.where(partial, rng.uniform(0.2, 0.8, len(refunded)), 1.0)
    refunds = {name: values[refunded] for name, values in charges.items()}
    refunds["type"] = np.ones(len(refunded), dtype=np.int64)
    refunds["status"] = np.zeros(len(refunded), dtype=np.int64)
    refunds["amount"] = money(refunds["amount"] * share, refunds["currency"])
    refunds["time"] = refund_at
    starts = log.valid_from[log.status == ACTIVE]
    owners = log.customer[log.status == ACTIVE]
    first = np.unique(owners, return_index=True)
    buyers, bought = first[0], starts[first[1]]
    chosen = rng.random(len(buyers)) < np.array([0.02, 0.08, 0.3])[customers.segment[buyers]]
    chosen[:1] = True
    buyers, bought = buyers[chosen], bought[chosen]
    one_off_at = bought + rng.integers(HOUR, 60 * DAY, len(buyers))
    keep = one_off_at < ctx.end_us
    currency = customers.currency_codes(CURRENCIES)[buyers[keep]]
    fee_usd = rng.choice([500.0, 1500.0, 5000.0], keep.sum())
    fx_day = day_index(one_off_at[keep], ctx.start_us)
    one_offs = {
        "customer": buyers[keep],
        "sub": np.full(keep.sum(), -1),
        "type": np.zeros(keep.sum(), dtype=np.int64),
        "status": np.zeros(keep.sum(), dtype=np.int64),
        "amount": money(fee_usd / fx[currency, fx_day], currency),
        "currency": currency,
        "time": one_off_at[keep],
    }
    merged = {k: np.concatenate([charges[k], refunds[k], one_offs[k]]) for k in charges}
    order = np.argsort(merged["time"], kind="stable")
    return {name: values[order] for name, values in merged.items()}


def transactions_table(ctx: Context, txns: dict[str, np.ndarray]) -> TableBuild:
    rng = ctx.rng("transactions/table")
    n = len(txns["time"])
    fractional = rng.random(n) < 0.3
    build = TableBuild(
        name="transactions",
        base={
            "_id": txns.get("id", np.arange(1, n + 1)),
            "_customer": txns["customer"] + 1,
            "_sub": txns["sub"] + 1,
            "_type": txns["type"],
            "_status": txns["status"],
            "_amount": txns["amount"],
            "_currency": txns["currency"],
            "_ts": floor_to_precision(txns["time"], fractional),
            "_loaded": loaded_after(rng, txns["time"], ctx.end_us, 20),
            "_off": server_offsets(rng, n),
            "_frac": fractional,
        },
        columns={
            "transaction_id": "printf('txn_%08d', _id)",
            "customer_id": "printf('cus_%06d', _customer)",
            "subscription_id": "case when _sub > 0 then printf('sub_%07d', _sub) end",
            "type": "case when _type = 0 then 'charge' else 'refund' end",
            "status": lookup_sql(("succeeded", "failed", "pending"), "_status"),
            "amount": "_amount",
            "currency": lookup_sql(CURRENCIES, "_currency"),
            "created_at": iso_sql("_ts"),
        },
        key=("transaction_id",),
        main="created_at",
    )
    build.defects = [
        *standard_defects(build, ctx, nullable=("subscription_id",)),
        *money_defects("amount"),
        non_finite_defect("amount"),
        Defect("orphan_foreign_key", (("customer_id", "'cus_999999x'"),)),
    ]
    return build


CAMPAIGNS = (
    ("marketing", "paid_search", "search_brand", "USD", 0.3),
    ("marketing", "paid_search", "search_generic", "USD", 0.5),
    ("marketing", "paid_search", "search_competitor", "USD", 0.2),
    ("marketing", "paid_social", "linkedin_prospecting", "USD", 0.6),
    ("marketing", "paid_social", "meta_retargeting_eu", "EUR", 0.4),
    ("marketing", "partner", "partner_marketplace", "USD", 0.6),
    ("marketing", "partner", "partner_resellers_eu", "EUR", 0.4),
    ("marketing", "content", "content_syndication", "USD", 0.5),
    ("marketing", "content", "sponsored_newsletters", "USD", 0.5),
    ("sales", "outbound_sales", None, "USD", 1.0),
)
"""(category, channel, campaign, currency, share of the channel's spend); the sales team's
cost has no campaign."""
CAC_USD = {"paid_search": 900.0, "paid_social": 1200.0, "partner": 1500.0, "content": 600.0,
           "outbound_sales": 6000.0}  # fmt: skip
"""Spend per acquired customer by channel, in USD."""


def acquisition_costs_table(ctx: Context, customers: Customers, fx: np.ndarray) -> TableBuild:
    """Daily spend per paid channel and campaign, following the customers each channel wins."""
    rng = ctx.rng("acquisition_costs")
    channels = channel_names()
    days = ctx.days
    won = day_index(customers.signed_up, ctx.start_us)
    kernel = np.ones(14) / 14
    amounts, currencies = [], []
    for _, channel, _, currency, share in CAMPAIGNS:
        daily = np.bincount(won[customers.channel == channels.index(channel)], minlength=days)
        smooth = np.convolve(daily.astype(float), kernel, mode="same")[:days]
        usd = CAC_USD[channel] * (smooth + 0.1) * share * rng.lognormal(0, 0.25, days)
        code = CURRENCIES.index(currency)
        amounts.append(money(usd / fx[code], np.full(days, code)))
        currencies.append(np.full(days, code))
    n_campaigns = len(CAMPAIGNS)
    day = np.tile(np.arange(days), n_campaigns)
    campaign = np.repeat(np.arange(n_campaigns), days)
    ts = ctx.start_us + day * DAY
    landed = ts + DAY + rng.integers(HOUR, 10 * HOUR, len(ts))
    build = TableBuild(
        name="acquisition_costs",
        base={
            "_ts": ts,
            "_loaded": np.minimum(landed, ctx.end_us),
            "_campaign": campaign,
            "_amount": np.concatenate(amounts),
            "_currency": np.concatenate(currencies),
        },
        columns={
            "cost_date": "strftime(_ts, '%Y-%m-%d')",
            "category": lookup_sql([c[0] for c in CAMPAIGNS], "_campaign"),
            "channel": lookup_sql([c[1] for c in CAMPAIGNS], "_campaign"),
            "campaign": f"nullif({lookup_sql([c[2] or '' for c in CAMPAIGNS], '_campaign')}, '')",
            "amount": "_amount",
            "currency": lookup_sql(CURRENCIES, "_currency"),
        },
        key=("cost_date", "category", "channel", "campaign"),
        main="cost_date",
        date_main=True,
    )
    build.defects = [
        *standard_defects(build, ctx, nullable=("campaign",)),
        *money_defects("amount"),
        non_finite_defect("amount"),
    ]
    return build
