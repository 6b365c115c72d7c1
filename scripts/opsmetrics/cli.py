"""The `opsmetrics` command line."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from opsmetrics import load

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
bench_app = typer.Typer(
    no_args_is_help=True, help="Time jobs and record them in docs/benchmarks.md."
)
app.add_typer(bench_app, name="bench")
console = Console()

Scale = Annotated[str, typer.Option(help="tiny | small | medium | large")]
Seed = Annotated[int, typer.Option(help="Random seed: same seed, same data.")]
OutDir = Annotated[Path, typer.Option("--out", help="Folder for <table>.parquet files.")]
EndDate = Annotated[
    str | None, typer.Option(help="Last day of data, YYYY-MM-DD (default: today, UTC).")
]
DefectRate = Annotated[
    float, typer.Option(help="Share of rows given a known defect (0 = clean data).")
]
Target = Annotated[str, typer.Option(help="duckdb | postgres")]


def _end_date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


@app.command()
def generate(
    scale: Scale = "small",
    seed: Seed = 42,
    out: OutDir = Path("data/raw/small"),
    end_date: EndDate = None,
    defect_rate: DefectRate = 0.01,
) -> None:
    """Write a realistic raw data set (every contract table as Parquet) and its manifest."""
    from opsmetrics.generate import generate_with_progress

    try:
        manifest = generate_with_progress(
            scale=scale, seed=seed, out=out, defect_rate=defect_rate, end_date=_end_date(end_date)
        )
    except ValueError as error:
        console.print(f"[red]generate failed:[/red] {error}")
        raise typer.Exit(2) from error
    rows = sum(t["rows"] for t in manifest["tables"].values())
    console.print(f"wrote {rows:,} rows in {len(manifest['tables'])} tables to {out}")


@app.command("load")
def load_command(
    from_dir: Annotated[Path, typer.Option("--from", help="Folder of <table>.parquet|csv.")],
    target: Target = "duckdb",
    replace: Annotated[
        bool,
        typer.Option(
            help="Empty the raw tables first (a new data set, not a delivery); build the "
            "incremental marts afresh afterwards (dbt build --full-refresh)."
        ),
    ] = False,
) -> None:
    """Load raw files into the warehouse's raw schema (idempotent: rows already there are
    not inserted again)."""
    try:
        inserted = load.load(from_dir, target=target, replace=replace)
    except load.LoadError as error:
        console.print(f"[red]load failed:[/red] {error}")
        raise typer.Exit(2) from error
    _print_counts("rows inserted", inserted)


@app.command()
def demo(
    scale: Scale = "small",
    seed: Seed = 42,
    out: OutDir = Path("data/raw/small"),
    defect_rate: DefectRate = 0.01,
) -> None:
    """Generate, load, dbt build and quality-check, then print a summary."""
    from opsmetrics.demo import run_demo

    raise typer.Exit(run_demo(scale=scale, seed=seed, out=out, defect_rate=defect_rate))


@app.command()
def quality(target: Target = "duckdb") -> None:
    """Run every Great Expectations suite (raw, staging, marts) through one checkpoint.

    Exits 1 when an expectation fails and 2 on an engine error (missing table, SQL error,
    no connection); writes the GX Data Docs under gx/uncommitted/data_docs/.
    """
    from opsmetrics.quality import print_report, run_quality

    result = run_quality(target=target)
    print_report(result, console)
    raise typer.Exit(result.exit_code)


@bench_app.command("generate")
def bench_generate_command(
    scale: Scale = "medium", seed: Seed = 42, end_date: EndDate = None
) -> None:
    """Time data generation in a child process; record wall time and peak RSS."""
    from opsmetrics.bench import bench_generate

    result = bench_generate(scale=scale, seed=seed, end_date=_end_date(end_date))
    console.print(
        f"generate {scale}: {result['wall_seconds']} s, peak RSS {result['peak_rss_mib']} MiB"
    )
    _print_counts("rows written", result["rows"])


@bench_app.command("quality")
def bench_quality_command(scale: Scale = "medium") -> None:
    """Time the quality run on the warehouse (built at SCALE) in a child process."""
    from opsmetrics.bench import bench_quality

    result = bench_quality(scale=scale)
    console.print(
        f"quality {scale}: {result['wall_seconds']} s, peak RSS {result['peak_rss_mib']} MiB"
    )
    console.print(result["note"])


@bench_app.command("operations")
def bench_operations_command(
    scale: Scale = "medium", seed: Seed = 42, end_date: EndDate = None
) -> None:
    """Time the operations marts: full refresh, then an incremental run after one new day."""
    from opsmetrics.bench import bench_operations

    result = bench_operations(scale=scale, seed=seed, end_date=_end_date(end_date))
    full, incremental = result["full"], result["incremental"]
    console.print(
        f"operations {scale}: full {full['wall_seconds']} s ({full['dbt_seconds']} s dbt, "
        f"peak RSS {full['peak_rss_mib']} MiB), incremental {incremental['wall_seconds']} s "
        f"({incremental['dbt_seconds']} s dbt, peak RSS {incremental['peak_rss_mib']} MiB)"
    )


@bench_app.command("build")
def bench_build_command(scale: Scale = "medium", seed: Seed = 42, end_date: EndDate = None) -> None:
    """Time `dbt build` of the whole project at SCALE. Replaces the warehouse's raw data
    (OPSMETRICS_DUCKDB_PATH) and leaves it built, ready for `bench quality`."""
    from opsmetrics.bench import bench_build

    result = bench_build(scale=scale, seed=seed, end_date=_end_date(end_date))
    build = result["build"]
    console.print(
        f"build {scale}: {build['wall_seconds']} s ({build['dbt_seconds']} s dbt), "
        f"peak RSS {build['peak_rss_mib']} MiB, {build['summary']['passed']} nodes passed"
    )


def _print_counts(title: str, counts: dict[str, int]) -> None:
    table = Table(title=title)
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, count in counts.items():
        table.add_row(name, f"{count:,}")
    console.print(table)


@app.command()
def kpis(
    out: Annotated[Path, typer.Option("--out", help="Where to write the page.")] = Path(
        "docs/kpis.md"
    ),
    check: Annotated[
        bool, typer.Option(help="Fail (exit 1) if the page was out of date, after fixing it.")
    ] = False,
) -> None:
    """Write the KPI registry page (every metric, its owner, target, thresholds and formula)
    from the semantic layer, after `dbt parse`."""
    from opsmetrics.semantic import load_manifest, registry_problems, write_kpis_page

    changed = write_kpis_page(out)
    problems = registry_problems(load_manifest())
    for problem in problems:
        console.print(f"[red]registry:[/red] {problem}")
    console.print(f"{out}: {'updated' if changed else 'up to date'}")
    if problems or (check and changed):
        raise typer.Exit(1)


@app.command("export-metrics")
def export_metrics_command(target: Target = "duckdb") -> None:
    """Materialise every saved query into a table of the warehouse's `metrics` schema, for
    BI tools that read the warehouse (MetricFlow compiles the SQL, the warehouse runs it)."""
    from opsmetrics.semantic import export_metrics

    _print_counts("metric tables", export_metrics(target=target))


@app.command()
def dashboards(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = 8501,
    target: Target = "duckdb",
) -> None:
    """Serve the dashboards (executive, product, growth, operational) on 127.0.0.1:PORT,
    reading the published snapshot (DuckDB) or the Postgres warehouse."""
    from opsmetrics.dashboards.serve import check_options, serve

    try:
        check_options(port, target)
    except ValueError as error:
        console.print(f"[red]dashboards failed:[/red] {error}")
        raise typer.Exit(2) from error
    console.print(f"dashboards on http://127.0.0.1:{port} (target {target}); Ctrl-C stops")
    raise typer.Exit(serve(port=port, target=target))


@bench_app.command("dashboards")
def bench_dashboards_command(
    scale: Scale = "medium",
    repeats: Annotated[int, typer.Option(help="Warm loads per page.")] = 5,
) -> None:
    """Time each dashboard page in the browser (cold, then warm) on the warehouse at
    OPSMETRICS_DUCKDB_PATH, built at SCALE with its metric tables exported."""
    from opsmetrics.dashboards.bench import BenchError, bench_dashboards

    try:
        result = bench_dashboards(scale=scale, repeats=repeats)
    except BenchError as error:
        console.print(f"[red]bench dashboards failed:[/red] {error}")
        raise typer.Exit(2) from error
    for name, timing in result["pages"].items():
        console.print(
            f"{name}: cold {timing['cold_seconds']} s, warm median "
            f"{timing['warm_median_seconds']} s (max {timing['warm_max_seconds']} s)"
        )


@app.command()
def report(
    audience: Annotated[str, typer.Option(help="executive | product | growth | operational")],
    period: Annotated[str, typer.Option(help="The month, YYYY-MM.")],
    fmt: Annotated[str, typer.Option("--format", help="html | pdf")] = "html",
    out: Annotated[
        Path | None,
        typer.Option("--out", help="File to write (default reports/AUDIENCE-PERIOD.FORMAT)."),
    ] = None,
    target: Target = "duckdb",
) -> None:
    """Write a self-contained KPI report (KPIs vs target and last period, biggest movers,
    firing alerts, forecast) as HTML or PDF."""
    from opsmetrics.dashboards.data import DataUnavailable
    from opsmetrics.dashboards.report import ReportError, write_report

    try:
        path = write_report(audience, period, out=out, fmt=fmt, target=target)
    except (ReportError, DataUnavailable, ValueError) as error:
        console.print(f"[red]report failed:[/red] {error}")
        raise typer.Exit(2) from error
    console.print(f"wrote {path}")
