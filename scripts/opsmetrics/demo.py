"""`make demo`: generate, load, build and check on the embedded DuckDB warehouse."""

from __future__ import annotations

from pathlib import Path

import duckdb
from rich.console import Console
from rich.table import Table

from opsmetrics.dashboards.terminal import show_demo_scorecard
from opsmetrics.dbt_invoke import DbtError, DbtSummary, run_dbt, summarise
from opsmetrics.generate import generate
from opsmetrics.load import load_duckdb
from opsmetrics.quality import print_report, run_quality
from opsmetrics.settings import duckdb_path

console = Console()

# The demo replaces the raw data with a new data set, a new history: the incremental
# marts must not keep rows of the previous one, so every model is built from scratch.
BUILD_ARGS = ["build", "--full-refresh"]


def run_demo(scale: str, seed: int, out: Path, defect_rate: float) -> int:
    """Run the whole pipeline once; returns the process exit code."""
    console.rule("1/4 generate")
    generate(scale=scale, seed=seed, out=out, defect_rate=defect_rate)
    console.rule("2/4 load into DuckDB")
    load_duckdb(out, replace=True)
    console.rule("3/4 dbt build")
    try:
        result = run_dbt(BUILD_ARGS)
    except DbtError as error:
        console.print(f"[red]{error}[/red]")
        return 1
    print_summary(duckdb_path(), summarise(result))
    console.rule("4/4 quality (Great Expectations)")
    quality = run_quality()
    print_report(quality, console)
    show_demo_scorecard(console)
    return quality.exit_code


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
