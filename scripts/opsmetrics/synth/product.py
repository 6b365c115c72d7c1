"""Product analytics events: anonymous browsing, sign-up, sessions and feature usage.

Every user browses anonymously first (the owner more than invited colleagues), signs up
on the same device (same anonymous_id, now with user_id), then comes back in sessions,
sometimes on a new device. Activation is the first `feature_report_created`.
"""

from __future__ import annotations

import numpy as np

from opsmetrics.synth.accounts import SEGMENTS, Customers, Users
from opsmetrics.synth.billing import plan_catalogue
from opsmetrics.synth.common import (
    DAY,
    MINUTE,
    OFFSETS,
    SECOND,
    Context,
    floor_to_precision,
    iso_sql,
    loaded_after,
    lookup_sql,
    repeat_ranges,
    server_offsets,
)
from opsmetrics.synth.writer import Defect, TableBuild, standard_defects

FEATURES = {
    "report": ("created", "viewed", "shared"),
    "dashboard": ("created", "viewed", "shared"),
    "export": ("started", "completed"),
    "alert": ("created", "triggered"),
    "integration": ("connected", "synced"),
    "api_key": ("created", "revoked"),
}
FEATURE_EVENTS = tuple(f"feature_{f}_{a}" for f, actions in FEATURES.items() for a in actions)
EVENT_NAMES = (
    "page_viewed",
    "user_signed_up",
    "user_logged_in",
    "session_started",
    *FEATURE_EVENTS,
)
PAGE, SIGNUP, LOGIN, SESSION = range(4)
ACTIVATION = EVENT_NAMES.index("feature_report_created")
REPORT_VIEWED = EVENT_NAMES.index("feature_report_viewed")
IN_SESSION_WEIGHTS = {
    "page_viewed": 3.0, "feature_report_viewed": 2.0, "feature_report_shared": 0.4,
    "feature_dashboard_viewed": 2.5, "feature_dashboard_created": 0.3,
    "feature_dashboard_shared": 0.2, "feature_export_started": 0.5,
    "feature_export_completed": 0.45, "feature_alert_created": 0.15,
    "feature_alert_triggered": 0.4, "feature_integration_connected": 0.05,
    "feature_integration_synced": 0.3, "feature_api_key_created": 0.03,
    "feature_api_key_revoked": 0.01,
}  # fmt: skip
"""Relative frequency of in-session events; activation events are added separately."""
SEGMENT_FEATURE_BOOST = {
    "smb": {"integration": 0.4, "api_key": 0.3},
    "mid_market": {},
    "enterprise": {"integration": 4.0, "api_key": 5.0},
}
PATHS = (
    "/",
    "/pricing",
    "/features",
    "/blog/kpi-basics",
    "/docs/getting-started",
    "/customers",
    "/app/home",
    "/app/reports",
    "/app/dashboards",
    "/app/settings",
    "/app/integrations",
)
MARKETING_PATHS = 6
LOGIN_METHODS = ("password", "sso", "google")
DEVICES = ("desktop", "mobile", "tablet")
EVENTS_PER_SESSION = 6.5
USAGE_FADE_DAYS = 60
USAGE_FADE_DROP = 0.6
"""Share of a churning customer's sessions dropped in its last USAGE_FADE_DAYS: usage fades
before churn, a signal the churn-risk score can find."""
HASH = np.uint64(0x9E3779B97F4A7C15)
MASK_48 = np.uint64((1 << 48) - 1)


def scramble(ids: np.ndarray) -> np.ndarray:
    """A bijection of 0..2^48 that makes sequential ids look random (SDK-style)."""
    return ((ids.astype(np.uint64) * HASH) & MASK_48).astype(np.int64)


def _segment_weights(segment: str) -> np.ndarray:
    weights = np.zeros(len(EVENT_NAMES))
    for name, weight in IN_SESSION_WEIGHTS.items():
        feature = next((f for f in FEATURES if name.startswith(f"feature_{f}_")), None)
        weights[EVENT_NAMES.index(name)] = weight * SEGMENT_FEATURE_BOOST[segment].get(feature, 1)
    return weights / weights.sum()


class _Events:
    """Columns of events collected in parts, concatenated at the end."""

    def __init__(self) -> None:
        self.parts: list[dict[str, np.ndarray]] = []

    def add(self, **columns: np.ndarray | int) -> None:
        size = max(np.size(v) for v in columns.values())
        self.parts.append({k: np.broadcast_to(v, size) for k, v in columns.items()})

    def concatenated(self) -> dict[str, np.ndarray]:
        """Every column in one array; the parts are let go column by column."""
        parts, self.parts = self.parts, []
        return {k: np.concatenate([p.pop(k) for p in parts]) for k in list(parts[0])}


def make_events(
    ctx: Context, customers: Customers, users: Users, ended: np.ndarray
) -> dict[str, np.ndarray]:
    """Columns: time, anon, user (-1 = anonymous), name, detail code, customer (-1 = none)."""
    rng = ctx.rng("events")
    events = _Events()
    customer = users.customer
    n_users = len(users)
    anon0 = np.arange(n_users)
    next_anon = n_users
    owner = np.zeros(n_users, dtype=bool)
    owner[users.first_of_customer] = True
    before = np.where(owner, 1 + rng.poisson(2.0, n_users), rng.poisson(0.4, n_users))
    who, _ = repeat_ranges(before)
    browse_at = users.created[who] - rng.integers(30 * SECOND, 3 * DAY, len(who))
    events.add(
        time=browse_at,
        anon=anon0[who],
        user=-1,
        name=PAGE,
        detail=rng.integers(0, MARKETING_PATHS, len(who)),
        customer=customer[who],
    )
    plans, _ = plan_catalogue()
    events.add(
        time=users.created,
        anon=anon0,
        user=np.arange(n_users),
        name=SIGNUP,
        detail=rng.integers(0, len(plans), n_users),
        customer=customer,
    )

    until = np.minimum(ended[customer], ctx.end_us)
    weeks = np.maximum(until - users.created, 0) / (7 * DAY)
    engagement = rng.lognormal(0, 0.6, n_users) * np.exp(0.3 * customers.satisfaction[customer])
    rate = ctx.scale.events / EVENTS_PER_SESSION / max((engagement * weeks).sum(), 1e-9)
    sessions = rng.poisson(rate * engagement * weeks)
    who, _ = repeat_ranges(sessions)
    start = users.created[who] + (rng.random(len(who)) * (until[who] - users.created[who])).astype(
        np.int64
    )
    fading = (ended[customer[who]] - start < USAGE_FADE_DAYS * DAY) & (
        rng.random(len(who)) < USAGE_FADE_DROP
    )
    who, start = who[~fading], start[~fading]
    new_device = rng.random(len(who)) < 0.25
    session_anon = np.where(new_device, next_anon + np.arange(len(who)), anon0[who])
    next_anon += len(who)
    events.add(
        time=start,
        anon=session_anon,
        user=who,
        name=SESSION,
        detail=rng.choice(len(DEVICES), len(who), p=[0.7, 0.25, 0.05]),
        customer=customer[who],
    )
    login = rng.random(len(who)) < 0.5
    events.add(
        time=start[login] + SECOND,
        anon=session_anon[login],
        user=who[login],
        name=LOGIN,
        detail=rng.integers(0, len(LOGIN_METHODS), login.sum()),
        customer=customer[who][login],
    )

    activated_at = _activation(ctx, rng, users, customers, until)
    active = activated_at < until
    events.add(
        time=activated_at[active],
        anon=anon0[active],
        user=np.flatnonzero(active),
        name=ACTIVATION,
        detail=0,
        customer=customer[active],
    )

    per_session = 1 + rng.poisson(EVENTS_PER_SESSION - 2.5, len(who))
    session, _ = repeat_ranges(per_session)
    gaps = rng.exponential(40 * SECOND, len(session)).astype(np.int64)
    running = np.cumsum(gaps)
    first = np.cumsum(per_session) - per_session
    elapsed = running - np.repeat(running[first] - gaps[first], per_session)
    user = who[session]
    time = start[session] + 2 * SECOND + elapsed
    name = np.empty(len(session), dtype=np.int64)
    segment = customers.segment[customer[user]]
    for code, seg in enumerate(SEGMENTS):
        mask = segment == code
        name[mask] = rng.choice(len(EVENT_NAMES), mask.sum(), p=_segment_weights(seg))
    creates = (name == REPORT_VIEWED) & (time > activated_at[user]) & (rng.random(len(name)) < 0.3)
    name[creates] = ACTIVATION
    detail = np.where(name == PAGE, rng.integers(MARKETING_PATHS, len(PATHS), len(name)), 0)
    events.add(
        time=time,
        anon=session_anon[session],
        user=user,
        name=name,
        detail=detail,
        customer=customer[user],
    )
    # The per-event arrays live on in `events` only, so concatenating can free them.
    del session, gaps, running, elapsed, user, time, name, segment, creates, detail
    _add_visitors(ctx, rng, events, n_users, next_anon)
    columns = events.concatenated()
    keep = np.flatnonzero((columns["time"] < ctx.end_us) & (columns["time"] >= ctx.start_us))
    index = keep[np.argsort(columns["time"][keep], kind="stable")]
    del keep
    # One gather per column, each unsorted column freed as soon as it is taken.
    return {k: columns.pop(k)[index] for k in list(columns)}


def _activation(
    ctx: Context, rng: np.random.Generator, users: Users, customers: Customers, until: np.ndarray
) -> np.ndarray:
    """When each user first creates a report: mostly within a week, some later, some never."""
    n = len(users)
    odds = 0.9 + 0.6 * customers.satisfaction[users.customer]
    will = rng.random(n) < 1 / (1 + np.exp(-odds))
    quick = rng.random(n) < 0.75
    lag = np.where(quick, rng.integers(10 * MINUTE, 7 * DAY, n), rng.integers(7 * DAY, 60 * DAY, n))
    return np.where(will, users.created + lag, until + DAY)


def _add_visitors(
    ctx: Context, rng: np.random.Generator, events: _Events, n_users: int, first_anon: int
) -> None:
    """Visitors who browse the marketing site and never sign up."""
    views = 1 + rng.poisson(1.5, n_users)
    visitor, rank = repeat_ranges(views)
    first = ctx.start_us + (rng.random(n_users) * (ctx.end_us - ctx.start_us)).astype(np.int64)
    time = first[visitor] + rank * rng.integers(5 * SECOND, 5 * MINUTE, len(visitor))
    events.add(
        time=time,
        anon=first_anon + visitor,
        user=-1,
        name=PAGE,
        detail=rng.integers(0, MARKETING_PATHS, len(visitor)),
        customer=-1,
    )


def _properties_sql() -> str:
    plans, _ = plan_catalogue()
    feature = [name.split("_", 1)[1].rsplit("_", 1)[0] for name in EVENT_NAMES]
    return (
        "case _name"
        f" when {PAGE} then '{{\"path\": \"' || {lookup_sql(PATHS, '_detail')} || '\"}}'"
        f' when {SIGNUP} then \'{{"path": "/signup", "plan_id": "\' || '
        f"{lookup_sql(plans, '_detail')} || '\"}}'"
        f" when {LOGIN} then '{{\"method\": \"' || {lookup_sql(LOGIN_METHODS, '_detail')} || '\"}}'"
        f" when {SESSION} then '{{\"device\": \"' || {lookup_sql(DEVICES, '_detail')} || '\"}}'"
        f' else \'{{"feature": "\' || {lookup_sql(feature, "_name")} || \'", "source": "web"}}\''
        " end"
    )


def events_table(ctx: Context, events: dict[str, np.ndarray], customers: Customers) -> TableBuild:
    """The events table; takes the columns out of `events` as it uses them, so each is
    freed once its narrower copy exists (at `large` each is 200 MB or more)."""
    rng = ctx.rng("events/table")
    n = len(events["time"])
    occurred = events.pop("time")
    received = occurred + rng.lognormal(np.log(1.5 * SECOND), 1.2, n).astype(np.int64)
    offline = rng.random(n) < 0.01
    received[offline] += rng.integers(1 * 3600 * SECOND, 12 * 3600 * SECOND, offline.sum())
    np.minimum(received, ctx.end_us - 1, out=received)
    np.maximum(received, occurred, out=received)
    customer = events.pop("customer")
    offset = np.where(
        customer >= 0,
        customers.offset[np.maximum(customer, 0)],
        rng.integers(0, len(OFFSETS), n),
    ).astype(np.int8)
    del customer
    fractional = rng.random(n) < 0.6
    build = TableBuild(
        name="events",
        base={
            "_id": scramble(np.arange(n)),
            "_anon": scramble(events.pop("anon")),
            # Codes in the smallest type that holds them, as for API requests.
            "_user": (events.pop("user") + 1).astype(np.int32),
            "_name": events.pop("name").astype(np.int8),
            "_detail": events.pop("detail").astype(np.int16),
            "_ts": floor_to_precision(occurred, fractional),
            "_t_received": received - received % 1_000,
            "_loaded": loaded_after(rng, received, ctx.end_us, 15, late_share=0.015),
            "_off": offset,
            "_frac": fractional,
            "_roff": server_offsets(rng, n),
        },
        columns={
            "event_id": "printf('evt_%012x', _id)",
            "anonymous_id": "printf('anon_%012x', _anon)",
            "user_id": "case when _user > 0 then printf('usr_%07d', _user) end",
            "event_name": lookup_sql(EVENT_NAMES, "_name"),
            "properties": _properties_sql(),
            "occurred_at": iso_sql("_ts"),
            "received_at": iso_sql("_t_received", "_roff", "true"),
        },
        key=("event_id",),
        main="occurred_at",
    )
    build.defects = [
        *standard_defects(build, ctx, nullable=("user_id",)),
        Defect(
            "malformed_json",
            (("properties", '\'{"path": "/x"\''), ("properties", "left($expr, -1)")),
        ),
        Defect(
            "orphan_foreign_key",
            (("user_id", "'usr_9999999x'"),),
            eligible=build.base["_user"] > 0,
        ),
    ]
    return build
