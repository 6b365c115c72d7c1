"""Generate a realistic, deterministic raw data set: every contract table as Parquet.

Same (scale, seed, end_date, defect_rate), same data. Known defects are injected at
`defect_rate` and counted per table and class in `manifest.json`, so staging's
quarantine can be reconciled against what was injected.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path

from rich.console import Console
from rich.progress import Progress

from opsmetrics.contract import raw_tables
from opsmetrics.synth import accounts, anomalies, billing, manual, platform, product
from opsmetrics.synth.common import Context
from opsmetrics.synth.scales import SCALES, get_scale
from opsmetrics.synth.writer import TableBuild, write_table

MAX_DEFECT_RATE = 0.5


def _check_arguments(scale: str, seed: int, defect_rate: float, end_date: date) -> None:
    get_scale(scale)
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if not 0 <= defect_rate <= MAX_DEFECT_RATE:
        raise ValueError(
            f"defect_rate must be between 0 and {MAX_DEFECT_RATE}, got {defect_rate!r}"
        )
    if not isinstance(end_date, date):
        raise ValueError(f"end_date must be a date, got {end_date!r}")


def _builds(
    ctx: Context, planted: dict[str, list[str]], planted_anomalies: list[dict]
) -> Iterator[TableBuild]:
    """Every table in dependency order, built lazily so big arrays can be freed early.
    Planted KPI anomalies are recorded in `planted` (by kind, their natural keys); every
    planted incident and anomaly with its window is appended to `planted_anomalies`."""
    hosts = platform.host_names(ctx)
    plan = anomalies.plan(ctx, len(hosts))
    fx = billing.make_fx(ctx)
    yield billing.fx_table(ctx, fx)
    customers = accounts.make_customers(ctx)
    anomalies.signup_dip(plan, customers.signed_up)
    yield accounts.customers_table(ctx, customers)
    log = billing.simulate_subscriptions(ctx, customers, fx)
    life = billing.lifecycle(log, len(customers))
    spiked, cancelled = anomalies.churn_spike(ctx, plan, log)
    yield billing.subscriptions_table(ctx, spiked)
    transactions = billing.make_transactions(ctx, log, customers, fx)
    anomalies.revenue_drop(ctx, plan, transactions)
    anomalies.drop_after_churn(transactions, cancelled)
    yield billing.transactions_table(ctx, transactions)
    yield billing.acquisition_costs_table(ctx, customers, fx)
    users = accounts.make_users(ctx, customers, life.converted, life.ended)
    yield accounts.users_table(ctx, users, customers)
    yield accounts.surveys_table(ctx, customers, users, life.live_from, life.ended)
    yield product.events_table(
        ctx, product.make_events(ctx, customers, users, life.ended), customers
    )
    incidents = platform.make_incidents(ctx)
    yield platform.api_requests_table(
        ctx, platform.make_requests(ctx, incidents, customers.signed_up)
    )
    yield platform.health_checks_table(ctx, incidents)
    metrics = platform.system_metrics_table(ctx, incidents)
    anomalies.host_running_hot(plan, metrics.base, platform.METRICS.index("cpu_utilization"))
    yield metrics
    planted_anomalies += anomalies.manifest_entries(
        plan, platform.incident_windows(incidents), hosts[plan.host_hot_index]
    )
    scaling = platform.make_scaling_events(ctx, incidents)
    planted["slow_scale_ups"] = platform.slow_scale_up_ids(scaling)
    yield platform.scaling_events_table(ctx, scaling)
    yield manual.manual_metrics_table(ctx)


def generate(
    scale: str,
    seed: int,
    out: Path,
    defect_rate: float = 0.01,
    end_date: date | None = None,
    on_table: Callable[[str], None] | None = None,
) -> dict:
    """Write every contract table to `out/<table>.parquet` plus `out/manifest.json`.

    Returns the manifest: scale, seed, end_date, defect_rate, per table the rows written
    and the injected defects per class, under `planted` the keys of planted anomalies
    (`slow_scale_ups`: scaling event ids responding after more than 30 s), and
    `planted_anomalies`: every planted incident and business anomaly with its exact UTC
    window (synth/anomalies.py). `on_table` is called with each table's name once it is
    written.
    """
    end_date = end_date or datetime.now(UTC).date()
    _check_arguments(scale, seed, defect_rate, end_date)
    ctx = Context(get_scale(scale), seed, end_date)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    tables: dict[str, dict] = {}
    planted: dict[str, list[str]] = {}
    planted_anomalies: list[dict] = []
    for build in _builds(ctx, planted, planted_anomalies):
        rows, defects = write_table(build, ctx, out, defect_rate)
        tables[build.name] = {"rows": rows, "defects": defects}
        if on_table:
            on_table(build.name)
        # Drop this table's arrays before the next one is built.
        del build
    missing = set(raw_tables()) - set(tables)
    if missing:
        raise RuntimeError(f"the generator wrote no data for: {', '.join(sorted(missing))}")
    manifest = {
        "scale": scale,
        "seed": seed,
        "end_date": end_date.isoformat(),
        "defect_rate": defect_rate,
        "tables": {name: tables[name] for name in raw_tables()},
        "planted": planted,
        "planted_anomalies": planted_anomalies,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def generate_with_progress(
    scale: str, seed: int, out: Path, defect_rate: float = 0.01, end_date: date | None = None
) -> dict:
    """`generate` with a progress bar on stderr (hidden when stderr is not a terminal)."""
    console = Console(stderr=True)
    with Progress(console=console, disable=not sys.stderr.isatty()) as progress:
        task = progress.add_task(f"generating {scale}", total=len(raw_tables()))

        def advance(name: str) -> None:
            progress.update(task, advance=1, description=f"wrote {name}")

        return generate(scale, seed, out, defect_rate, end_date, on_table=advance)


__all__ = ["SCALES", "generate", "generate_with_progress"]
