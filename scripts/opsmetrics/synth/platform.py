"""Operational telemetry: API requests, health probes and host metrics, with incidents.

Traffic follows a daily and weekly rhythm and grows with the customer base. Incidents
(error bursts, latency spikes, outages) hit one service for a while and show up
consistently in all three tables.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from opsmetrics.synth.common import (
    DAY,
    HOUR,
    MINUTE,
    SECOND,
    Context,
    floor_to_precision,
    iso_sql,
    loaded_after,
    lookup_sql,
    server_offsets,
)
from opsmetrics.synth.writer import Defect, TableBuild, non_finite_defect, standard_defects

SERVICES = ("api-gateway", "auth", "billing", "search", "reports")
ENDPOINTS = (
    # service, method, route template, share of traffic, median latency in ms
    (0, "GET", "/v1/orders", 0.14, 45.0),
    (0, "GET", "/v1/orders/{id}", 0.16, 25.0),
    (0, "POST", "/v1/orders", 0.06, 80.0),
    (0, "PATCH", "/v1/orders/{id}", 0.03, 70.0),
    (0, "DELETE", "/v1/orders/{id}", 0.01, 40.0),
    (0, "GET", "/v1/customers/{id}", 0.06, 30.0),
    (1, "POST", "/v1/auth/token", 0.08, 60.0),
    (1, "POST", "/v1/auth/refresh", 0.06, 20.0),
    (1, "GET", "/v1/auth/me", 0.05, 10.0),
    (2, "GET", "/v1/invoices", 0.04, 90.0),
    (2, "GET", "/v1/invoices/{id}", 0.03, 50.0),
    (2, "POST", "/v1/payments", 0.02, 250.0),
    (3, "GET", "/v1/search", 0.14, 120.0),
    (3, "GET", "/v1/search/suggest", 0.07, 35.0),
    (4, "GET", "/v1/reports", 0.02, 150.0),
    (4, "POST", "/v1/reports", 0.01, 600.0),
    (4, "GET", "/v1/reports/{id}/export", 0.02, 1200.0),
)
SUCCESS_CODE = {"GET": 200, "POST": 201, "PATCH": 200, "DELETE": 204}
CLIENT_ERRORS = (400, 401, 403, 404, 409, 422, 429)
SERVER_ERRORS = (500, 502, 503, 504)
METRICS = ("cpu_utilization", "memory_utilization", "queue_depth", "active_connections")
OUTAGE, ERROR_BURST, LATENCY_SPIKE = range(3)
INCIDENT_EVERY_DAYS = {OUTAGE: 45, ERROR_BURST: 20, LATENCY_SPIKE: 15}


@dataclass(frozen=True)
class Incidents:
    """Incident windows: kind, service, start and end (µs)."""

    kind: np.ndarray
    service: np.ndarray
    start: np.ndarray
    end: np.ndarray


def make_incidents(ctx: Context) -> Incidents:
    """At least one of each kind; outages last long enough for two health probes."""
    rng = ctx.rng("incidents")
    kinds, services, starts, lengths = [], [], [], []
    min_outage = max(20 * MINUTE, 2 * ctx.scale.health_check_minutes * MINUTE)
    for kind, every in INCIDENT_EVERY_DAYS.items():
        count = max(1, ctx.days // every)
        kinds.append(np.full(count, kind))
        services.append(rng.integers(0, len(SERVICES), count))
        starts.append(rng.integers(ctx.start_us + DAY, ctx.end_us - DAY, count))
        low, high = {OUTAGE: (min_outage, min_outage + 4 * HOUR),
                     ERROR_BURST: (10 * MINUTE, 90 * MINUTE),
                     LATENCY_SPIKE: (15 * MINUTE, 3 * HOUR)}[kind]  # fmt: skip
        lengths.append(rng.integers(low, high, count))
    start = np.concatenate(starts)
    return Incidents(
        np.concatenate(kinds), np.concatenate(services), start, start + np.concatenate(lengths)
    )


def traffic_shape(ctx: Context, hours: np.ndarray) -> np.ndarray:
    """Relative traffic per hour of history: daily and weekly rhythm, growing 2.5-fold."""
    hour_of_day = (hours % 24).astype(float)
    daily = 0.3 + np.exp(-(((hour_of_day - 14) / 4.5) ** 2))
    weekday = ((hours // 24) + 3) % 7
    weekly = np.where(weekday >= 5, 0.45, 1.0)
    growth = 1 + 1.5 * hours / max(hours[-1], 1)
    return daily * weekly * growth


def make_requests(
    ctx: Context, incidents: Incidents, signed_up: np.ndarray
) -> dict[str, np.ndarray]:
    """API requests in time order, with incidents applied."""
    rng = ctx.rng("api_requests")
    n_hours = ctx.days * 24
    hours = np.arange(n_hours)
    shape = traffic_shape(ctx, hours)
    counts = rng.poisson(shape * ctx.scale.api_requests / shape.sum())
    # Per-request codes are kept in the smallest type that holds them, and each draw is
    # narrowed (or dropped) as soon as it is used: at `large` (50 M requests) every int64
    # column takes 400 MB. The draws and their order are unchanged, so is the data.
    hour = np.repeat(hours.astype(np.int32), counts)
    n = len(hour)
    time = ctx.start_us + hour.astype(np.int64) * HOUR + rng.integers(0, HOUR, n)
    share = np.array([e[3] for e in ENDPOINTS])
    endpoint = rng.choice(len(ENDPOINTS), n, p=share / share.sum()).astype(np.int8)
    service = np.array([e[0] for e in ENDPOINTS], dtype=np.int8)[endpoint]
    latency = np.array([e[4] for e in ENDPOINTS])[endpoint] * rng.lognormal(0, 0.55, n)
    roll = rng.random(n)
    client = rng.choice(CLIENT_ERRORS, n, p=[0.2, 0.2, 0.1, 0.3, 0.05, 0.1, 0.05]).astype(np.int16)
    server = rng.choice(SERVER_ERRORS, n).astype(np.int16)
    ok = np.array([SUCCESS_CODE[e[1]] for e in ENDPOINTS], dtype=np.int16)[endpoint]
    status = np.where(roll < 0.04, client, np.where(roll < 0.044, server, ok))
    del roll, client, server, ok
    latency = np.where(status < 500, latency, latency * 3)
    latency = np.where((status >= 400) & (status < 500), latency * 0.3, latency)
    for kind, svc, start, end in zip(
        incidents.kind, incidents.service, incidents.start, incidents.end, strict=True
    ):
        lo, hi = np.searchsorted(
            hour, [(start - ctx.start_us) // HOUR, (end - ctx.start_us) // HOUR + 1]
        )
        hit = lo + np.flatnonzero(
            (service[lo:hi] == svc) & (time[lo:hi] >= start) & (time[lo:hi] < end)
        )
        if kind == OUTAGE:
            status[hit] = 503
            latency[hit] = rng.uniform(1, 20, len(hit))
        elif kind == ERROR_BURST:
            burst = hit[rng.random(len(hit)) < rng.uniform(0.3, 0.6)]
            status[burst] = rng.choice(SERVER_ERRORS, len(burst))
        else:
            latency[hit] *= rng.uniform(4, 15)
    del hour
    known = np.searchsorted(signed_up, time).astype(np.int32)
    caller = (rng.random(n) ** 1.5 * known).astype(np.int32)
    anonymous = (known == 0) | (rng.random(n) < np.where(service == 1, 0.6, 0.05))
    del known, service
    return {
        "time": time,
        "endpoint": endpoint,
        "status": status,
        "latency": np.round(latency, 2),
        "customer": np.where(anonymous, -1, caller),
    }


def api_requests_table(ctx: Context, requests: dict[str, np.ndarray]) -> TableBuild:
    rng = ctx.rng("api_requests/table")
    n = len(requests["time"])
    fractional = rng.random(n) < 0.7
    # Ids in the smallest type that holds them, as in make_requests.
    build = TableBuild(
        name="api_requests",
        base={
            "_id": np.arange(1, n + 1, dtype=np.int32),
            "_endpoint": requests["endpoint"],
            "_status": requests["status"],
            "_latency": requests["latency"],
            "_customer": requests["customer"] + 1,
            "_ts": floor_to_precision(requests["time"], fractional),
            "_loaded": loaded_after(rng, requests["time"], ctx.end_us, 10, late_share=0.015),
            "_off": server_offsets(rng, n),
            "_frac": fractional,
        },
        columns={
            "request_id": "printf('req_%010d', _id)",
            "service": lookup_sql([SERVICES[e[0]] for e in ENDPOINTS], "_endpoint"),
            "endpoint": lookup_sql([e[2] for e in ENDPOINTS], "_endpoint"),
            "method": lookup_sql([e[1] for e in ENDPOINTS], "_endpoint"),
            "status_code": "_status",
            "response_time_ms": "_latency",
            "customer_id": "case when _customer > 0 then printf('cus_%06d', _customer) end",
            "requested_at": iso_sql("_ts"),
        },
        key=("request_id",),
        main="requested_at",
    )
    build.defects = [
        *standard_defects(build, ctx, nullable=("customer_id",)),
        Defect("out_of_range_value", (("response_time_ms", "-1 - $expr"),)),
        non_finite_defect("response_time_ms"),
        Defect("implausible_value", (("response_time_ms", "$expr + 1e9"),)),
    ]
    return build


def _in_incident(
    incidents: Incidents, kind: int, service: np.ndarray, time: np.ndarray
) -> np.ndarray:
    hit = np.zeros(len(time), dtype=bool)
    for svc, start, end in zip(
        incidents.service[incidents.kind == kind],
        incidents.start[incidents.kind == kind],
        incidents.end[incidents.kind == kind],
        strict=True,
    ):
        hit |= (service == svc) & (time >= start) & (time < end)
    return hit


def health_checks_table(ctx: Context, incidents: Incidents) -> TableBuild:
    """One probe per service every `health_check_minutes`; down during outages."""
    rng = ctx.rng("health_checks")
    step = ctx.scale.health_check_minutes * MINUTE
    ticks = np.arange(ctx.start_us, ctx.end_us - 30 * SECOND, step)
    service = np.tile(np.arange(len(SERVICES)), len(ticks))
    time = np.repeat(ticks, len(SERVICES)) + rng.integers(0, 20 * SECOND, len(service))
    n = len(time)
    down = _in_incident(incidents, OUTAGE, service, time)
    slow = _in_incident(incidents, LATENCY_SPIKE, service, time)
    latency = rng.lognormal(np.log(25), 0.35, n) * np.where(slow, rng.uniform(4, 15, n), 1)
    latency = np.where(down, rng.uniform(5000, 10000, n), latency)
    fractional = rng.random(n) < 0.2
    build = TableBuild(
        name="health_checks",
        base={
            "_id": np.arange(1, n + 1),
            "_service": service,
            "_up": ~down,
            "_latency": np.round(latency, 2),
            "_ts": floor_to_precision(time, fractional),
            "_loaded": loaded_after(rng, time, ctx.end_us, 5),
            "_off": server_offsets(rng, n),
            "_frac": fractional,
        },
        columns={
            "check_id": "printf('chk_%09d', _id)",
            "service": lookup_sql(SERVICES, "_service"),
            "is_up": "_up",
            "response_time_ms": "_latency",
            "checked_at": iso_sql("_ts"),
        },
        key=("check_id",),
        main="checked_at",
    )
    build.defects = [
        *standard_defects(build, ctx, nullable=()),
        Defect("out_of_range_value", (("response_time_ms", "-1 - $expr"),)),
        non_finite_defect("response_time_ms"),
        Defect("implausible_value", (("response_time_ms", "$expr + 1e9"),)),
    ]
    return build


def host_names(ctx: Context) -> list[str]:
    """Every host, `<service>-<nn>`, in service order."""
    hosts = np.repeat(np.arange(len(SERVICES)), ctx.scale.hosts_per_service)
    host_number = np.concatenate([np.arange(1, k + 1) for k in ctx.scale.hosts_per_service])
    return [f"{SERVICES[s]}-{i:02d}" for s, i in zip(hosts, host_number, strict=True)]


def incident_windows(incidents: Incidents) -> list[tuple[str, str, int, int]]:
    """(kind, service, start µs, end µs) of every incident."""
    names = {OUTAGE: "outage", ERROR_BURST: "error_burst", LATENCY_SPIKE: "latency_spike"}
    return [
        (names[int(kind)], SERVICES[int(service)], int(start), int(end))
        for kind, service, start, end in zip(
            incidents.kind, incidents.service, incidents.start, incidents.end, strict=True
        )
    ]


def system_metrics_table(ctx: Context, incidents: Incidents) -> TableBuild:
    """Per host and metric, a sample every `metric_minutes`; CPU follows traffic."""
    rng = ctx.rng("system_metrics")
    hosts = np.repeat(np.arange(len(SERVICES)), ctx.scale.hosts_per_service)
    names = host_names(ctx)
    step = ctx.scale.metric_minutes * MINUTE
    ticks = np.arange(ctx.start_us, ctx.end_us - MINUTE, step)
    n_hosts, n_metrics = len(hosts), len(METRICS)
    host = np.tile(np.repeat(np.arange(n_hosts), n_metrics), len(ticks))
    metric = np.tile(np.arange(n_metrics), n_hosts * len(ticks))
    scrape = np.repeat(ticks, n_hosts) + rng.integers(0, 30 * SECOND, n_hosts * len(ticks))
    time = np.repeat(scrape, n_metrics)
    n = len(time)
    service = hosts[host]
    traffic = traffic_shape(ctx, (time - ctx.start_us) // HOUR) / 3.8
    busy = _in_incident(incidents, LATENCY_SPIKE, service, time) | _in_incident(
        incidents, ERROR_BURST, service, time
    )
    down = _in_incident(incidents, OUTAGE, service, time)
    cpu = 8 + 70 * traffic + rng.normal(0, 4, n) + 30 * busy - 50 * down
    since_restart = ((time - ctx.start_us + host * 17 * HOUR) % (7 * DAY)) / (7 * DAY)
    memory = 40 + 35 * since_restart + rng.normal(0, 2, n)
    queue = rng.poisson(3 + 40 * traffic + 300 * busy)
    connections = rng.poisson(5 + 150 * traffic) * ~down
    value = np.choose(metric, [np.clip(cpu, 0.5, 100), np.clip(memory, 0, 100), queue, connections])
    fractional = rng.random(n) < 0.1
    build = TableBuild(
        name="system_metrics",
        base={
            "_host": host,
            "_service": service,
            "_metric": metric,
            "_value": np.round(value.astype(float), 2),
            "_ts": floor_to_precision(time, fractional),
            "_loaded": loaded_after(rng, time, ctx.end_us, 5),
            "_off": server_offsets(rng, n),
            "_frac": fractional,
        },
        columns={
            "host": lookup_sql(names, "_host"),
            "service": lookup_sql(SERVICES, "_service"),
            "metric_name": lookup_sql(METRICS, "_metric"),
            "value": "_value",
            "sampled_at": iso_sql("_ts"),
        },
        key=("host", "metric_name", "sampled_at"),
        main="sampled_at",
    )
    build.defects = [
        *standard_defects(build, ctx, nullable=()),
        Defect(
            "out_of_range_value",
            (("value", "case when _metric < 2 then 100 + $expr + 1 else -1 - $expr end"),),
        ),
        non_finite_defect("value"),
        Defect(
            "implausible_value",
            (("value", "$expr + 1e12"),),
            metric == METRICS.index("queue_depth"),
        ),
    ]
    return build


SCALE_UP_TARGET_SECONDS = 30
"""The auto-scaling response target: new capacity serving within 30 s of the trigger."""
SLOW_SCALE_UP_SHARE = 0.03
UP, DOWN = 0, 1


@dataclass(frozen=True)
class ScalingEvents:
    """Auto-scaling actions in trigger order: service, direction (UP/DOWN), instances
    before and after, trigger and capacity-ready times (µs), and the planted slow
    scale-ups (responding after more than SCALE_UP_TARGET_SECONDS)."""

    service: np.ndarray
    direction: np.ndarray
    before: np.ndarray
    after: np.ndarray
    triggered: np.ndarray
    ready: np.ndarray
    is_slow: np.ndarray


def make_scaling_events(ctx: Context, incidents: Incidents) -> ScalingEvents:
    """Scale-ups at each weekday's traffic ramp and at the start of every error burst and
    latency spike, each followed by a scale-down once the load is gone. Scale-ups respond
    in 3-28 s, except a planted few (at least two, one incident-triggered) taking 1-10 min."""
    rng = ctx.rng("scaling_events")
    n_services = len(SERVICES)
    baseline = np.array([k + 1 for k in ctx.scale.hosts_per_service])
    days = np.arange(ctx.days)
    weekdays = days[((days + 3) % 7) < 5]
    peak_service = np.tile(np.arange(n_services), len(weekdays))
    peak_day = np.repeat(weekdays, n_services)
    peak_up = ctx.start_us + peak_day * DAY + 9 * HOUR + rng.integers(0, 2 * HOUR, len(peak_day))
    peak_down = ctx.start_us + peak_day * DAY + 20 * HOUR + rng.integers(0, 2 * HOUR, len(peak_day))
    peak_extra = rng.integers(1, 3, len(peak_day))
    busy = (incidents.kind == ERROR_BURST) | (incidents.kind == LATENCY_SPIKE)
    incident_service = incidents.service[busy]
    incident_up = incidents.start[busy] + rng.integers(MINUTE, 5 * MINUTE, busy.sum())
    incident_down = incidents.end[busy] + rng.integers(5 * MINUTE, 20 * MINUTE, busy.sum())
    incident_extra = np.full(busy.sum(), 2)
    service = np.concatenate([peak_service, peak_service, incident_service, incident_service])
    extra = np.concatenate([peak_extra, peak_extra, incident_extra, incident_extra])
    n_peak, n_incident = len(peak_day), int(busy.sum())
    direction = np.repeat([UP, DOWN, UP, DOWN], [n_peak, n_peak, n_incident, n_incident])
    triggered = np.concatenate([peak_up, peak_down, incident_up, incident_down])
    base = baseline[service]
    before = np.where(direction == UP, base, base + extra)
    after = np.where(direction == UP, base + extra, base)
    seconds = np.clip(rng.lognormal(np.log(12), 0.4, len(service)), 3, 28)
    seconds = np.where(direction == UP, seconds, rng.uniform(5, 60, len(service)))
    ups = np.flatnonzero(direction == UP)
    incident_ups = ups[ups >= 2 * n_peak]
    slow = rng.choice(ups, max(2, round(SLOW_SCALE_UP_SHARE * len(ups))), replace=False)
    if len(incident_ups) and not np.isin(slow, incident_ups).any():
        slow[0] = rng.choice(incident_ups)
    is_slow = np.zeros(len(service), dtype=bool)
    is_slow[slow] = True
    seconds[is_slow] = rng.uniform(60, 600, is_slow.sum())
    ready = triggered + (seconds * SECOND).astype(np.int64)
    keep = ready < ctx.end_us - 5 * MINUTE
    order = np.argsort(triggered[keep], kind="stable")
    return ScalingEvents(
        *(values[keep][order] for values in (service, direction, before, after, triggered, ready)),
        is_slow[keep][order],
    )


def slow_scale_up_ids(events: ScalingEvents) -> list[str]:
    """event_id of every planted slow scale-up (ids number the events in trigger order)."""
    return [f"sce_{i:08d}" for i in np.flatnonzero(events.is_slow) + 1]


def scaling_events_table(ctx: Context, events: ScalingEvents) -> TableBuild:
    rng = ctx.rng("scaling_events/table")
    n = len(events.triggered)
    fractional = rng.random(n) < 0.5
    build = TableBuild(
        name="scaling_events",
        base={
            "_id": np.arange(1, n + 1),
            "_service": events.service,
            "_direction": events.direction,
            "_before": events.before,
            "_after": events.after,
            "_ts": floor_to_precision(events.triggered, fractional),
            "_t_ready": floor_to_precision(events.ready, fractional),
            "_loaded": loaded_after(rng, events.ready, ctx.end_us, 5),
            "_off": server_offsets(rng, n),
            "_frac": fractional,
        },
        columns={
            "event_id": "printf('sce_%08d', _id)",
            "service": lookup_sql(SERVICES, "_service"),
            "direction": lookup_sql(("up", "down"), "_direction"),
            "instances_before": "_before",
            "instances_after": "_after",
            "triggered_at": iso_sql("_ts"),
            "capacity_ready_at": iso_sql("_t_ready"),
        },
        key=("event_id",),
        main="triggered_at",
    )
    build.defects = [
        *standard_defects(build, ctx, nullable=()),
        Defect("out_of_range_value", (("instances_after", "-1 - $expr"),)),
    ]
    return build
