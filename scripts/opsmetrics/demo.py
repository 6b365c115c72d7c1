"""`make demo`: generate, load, build and check on the embedded DuckDB warehouse."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import duckdb
from rich.console import Console
from rich.table import Table

from opsmetrics.dashboards.terminal import show_demo_scorecard
from opsmetrics.dbt_invoke import FULL_BUILD_ARGS, DbtError, DbtSummary, run_dbt, summarise
from opsmetrics.generate import generate
from opsmetrics.load import load_duckdb
from opsmetrics.quality import print_report, run_quality
from opsmetrics.settings import child_environment, duckdb_path

console = Console()


def run_demo(scale: str, seed: int, out: Path, defect_rate: float) -> int:
    """Run the whole pipeline once; returns the process exit code."""
    console.rule("1/5 generate")
    generate(scale=scale, seed=seed, out=out, defect_rate=defect_rate)
    console.rule("2/5 load into DuckDB")
    load_duckdb(out, replace=True)
    console.rule("3/5 dbt build")
    try:
        result = run_dbt(FULL_BUILD_ARGS)
    except DbtError as error:
        console.print(f"[red]{error}[/red]")
        return 1
    print_summary(duckdb_path(), summarise(result))
    forecast_exit = forecast_step()
    evaluate_alerts()
    console.rule("4/5 quality (Great Expectations)")
    quality = run_quality()
    print_report(quality, console)
    if quality.exit_code:
        return quality.exit_code
    published = opsmetrics_step("5/5 publish (read-only snapshot for BI tools)", "publish")
    if published:
        return published
    show_demo_scorecard(console)
    return forecast_exit


def opsmetrics_step(title: str, command: str) -> int:
    """Run `opsmetrics <command>` in a child process on this project and warehouse, as
    the scheduled run does. Returns its exit code."""
    console.rule(title)
    return subprocess.run(
        [sys.executable, "-m", "opsmetrics", command], env=child_environment(), check=False
    ).returncode


def print_summary(warehouse: Path, dbt_summary: DbtSummary) -> None:
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        rows = connection.execute(
            """
            select source_table, raw_rows, staged_rows, quarantined_rows,
                duplicate_rows_removed, is_reconciled
            from marts.fct_staging_reconciliation
            order by source_name, source_table
            """
        ).fetchall()
    table = Table(title=f"Rows by raw table — {warehouse}")
    for column in ("table", "loaded", "staged", "quarantined", "duplicates", "reconciled"):
        table.add_column(column, justify="left" if column == "table" else "right")
    for name, raw, staged, quarantined, duplicates, reconciled in rows:
        table.add_row(
            name,
            f"{raw:,}",
            f"{staged:,}",
            f"{quarantined:,}",
            f"{duplicates:,}",
            "yes" if reconciled else "[red]NO[/red]",
        )
    console.print(table)
    console.print(
        f"rows loaded {sum(r[1] for r in rows):,} · quarantined {sum(r[3] for r in rows):,} · "
        f"dbt: {dbt_summary.passed} passed, {dbt_summary.warned} warned, "
        f"{dbt_summary.failed + dbt_summary.errored} failed"
    )


def forecast_step() -> int:
    """Forecast every series and score churn (opsmetrics forecast); print the headlines:
    next month-end MRR with its interval, the first capacity threshold crossing."""
    from opsmetrics.forecast.run import ForecastError, headlines, run_forecast

    console.rule("forecasts")
    try:
        run = run_forecast()
    except ForecastError as error:
        console.print(f"[red]forecast failed:[/red] {error}")
        return 1
    for line in headlines(run):
        console.print(line)
    return 0


def evaluate_alerts(as_of: datetime | None = None) -> None:
    """Export the metric tables, evaluate the default alert rules at `as_of` (default
    now) and record them in alerts.alert_events (nothing is sent: no channel is
    configured in the demo); print the alerts that fire."""
    from opsmetrics.alerts.cli import print_firing
    from opsmetrics.alerts.evaluate import evaluate, record
    from opsmetrics.alerts.warehouse import Warehouse
    from opsmetrics.dbt_invoke import release_duckdb
    from opsmetrics.semantic import export_metrics

    console.rule("alerts (default rules on the demo data)")
    export_metrics()
    release_duckdb()
    with Warehouse() as warehouse:
        moment = as_of or datetime.now(UTC).replace(tzinfo=None)
        evaluation, context, _ = evaluate(warehouse, moment)
        changes = record(warehouse, evaluation, context.policies)
    print_firing(evaluation)
    console.print(
        f"recorded in alerts.alert_events: {len(changes.new)} new, "
        f"{len(changes.resolved)} resolved; send them with `opsmetrics alerts notify`"
    )
