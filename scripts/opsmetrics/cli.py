"""The `opsmetrics` command line. It works on the dbt project of the working directory
(or the nearest folder above it with a dbt_project.yml), or the one named by
--project-dir or OPSMETRICS_PROJECT_DIR."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import click
import typer
from rich.console import Console
from rich.table import Table
from typer.core import TyperGroup

from opsmetrics import load
from opsmetrics.locking import lock_conflict_message
from opsmetrics.settings import ProjectNotFoundError, project_dir, use_project_dir


class _ProjectGroup(TyperGroup):
    """The command group: no dbt project found (or --project-dir naming none) ends any
    command on one line, exit code 2; a command's --help needs no project."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ProjectNotFoundError as error:
            console.print(f"[red]opsmetrics:[/red] {error}", soft_wrap=True, highlight=False)
            raise typer.Exit(2) from error


app = typer.Typer(cls=_ProjectGroup, no_args_is_help=True, add_completion=False, help=__doc__)
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
Target = Annotated[
    str, typer.Option(help="duckdb | postgres (load, build and bench build: also spark)")
]


@app.callback()
def _project(
    context: typer.Context,
    project: Annotated[
        Path | None,
        typer.Option(
            "--project-dir",
            help="The dbt project to work on (default: OPSMETRICS_PROJECT_DIR, else the "
            "working directory or the nearest folder above it with a dbt_project.yml).",
        ),
    ] = None,
) -> None:
    if project is not None:
        context.with_resource(use_project_dir(project))


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


@contextmanager
def _lock_conflicts_in_one_line(command: str) -> Iterator[None]:
    """A warehouse locked by another process ends `command` on one line, exit code 2."""
    try:
        yield
    except typer.Exit:
        raise
    except Exception as error:
        message = lock_conflict_message(error)
        if message is None:
            raise
        console.print(f"[red]{command} failed:[/red] {message}", soft_wrap=True)
        raise typer.Exit(2) from error


@app.command("load")
def load_command(
    from_dir: Annotated[Path, typer.Option("--from", help="Folder of <table>.parquet|csv.")],
    target: Target = "duckdb",
    replace: Annotated[
        bool,
        typer.Option(
            help="A new data set, not a delivery: rebuild each raw table from its file, "
            "swapped in when every file has been read; build the incremental marts afresh "
            "afterwards (dbt build --full-refresh)."
        ),
    ] = False,
    allow_empty: Annotated[
        bool,
        typer.Option(
            help="With --replace, let a missing or empty file empty a raw table that has "
            "rows (refused otherwise)."
        ),
    ] = False,
) -> None:
    """Load raw files into the warehouse's raw schema, all tables in one transaction
    (idempotent: a file loaded before, or rows already there, are not inserted again)."""
    failure: load.LoadError | None = None
    with _lock_conflicts_in_one_line("load"), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", load.LoadWarning)
        try:
            inserted = load.load(from_dir, target=target, replace=replace, allow_empty=allow_empty)
        except load.LoadError as error:
            failure = error
    for warning in caught:
        console.print(f"[yellow]warning:[/yellow] {warning.message}", soft_wrap=True)
    if failure is not None:
        console.print(f"[red]load failed:[/red] {failure}", soft_wrap=True)
        raise typer.Exit(2) from failure
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

    with _lock_conflicts_in_one_line("demo"):
        code = run_demo(scale=scale, seed=seed, out=out, defect_rate=defect_rate)
    raise typer.Exit(code)


@app.command()
def quality(target: Target = "duckdb") -> None:
    """Run every Great Expectations suite (raw, staging, marts) through one checkpoint.

    Exits 1 when an expectation fails and 2 on an engine error (missing table, SQL error,
    no connection); writes the GX Data Docs under gx/uncommitted/data_docs/.
    """
    from opsmetrics.quality import print_report, run_quality

    if target == "duckdb":
        exit_if_warehouse_locked("quality", read_only=True)
    result = run_quality(target=target)
    for outcome in result.outcomes:
        message = lock_conflict_message(Exception(outcome.observed))
        if message is not None:
            console.print(f"[red]quality failed:[/red] {message}", soft_wrap=True)
            raise typer.Exit(2)
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
def bench_build_command(
    scale: Scale = "medium",
    seed: Seed = 42,
    end_date: EndDate = None,
    target: Annotated[
        str,
        typer.Option(
            help="duckdb: the project's warehouse, left built for `bench quality`; spark: "
            "a local Spark and DuckDB side by side, in scratch warehouses."
        ),
    ] = "duckdb",
    data: Annotated[
        Path | None,
        typer.Option(help="A generated data set to use (default: generate one at SCALE)."),
    ] = None,
    workdir: Annotated[
        Path | None,
        typer.Option(
            help="spark: folder for the scratch warehouses, created if missing (default: a "
            "temporary one)."
        ),
    ] = None,
    time_limit: Annotated[
        float | None,
        typer.Option(help="spark: stop Spark's build after this many seconds, recorded as such."),
    ] = None,
) -> None:
    """Time `dbt build` of the whole project at SCALE. On duckdb: replaces the warehouse's
    raw data (OPSMETRICS_DUCKDB_PATH) and leaves it built, ready for `bench quality`. On
    spark: the same build on a local Spark and on DuckDB, wall time and peak memory of
    each (the JVM included). Records docs/benchmarks.md."""
    from opsmetrics.bench import BenchInputError, ChildFailed, bench_build
    from opsmetrics.bench_spark import bench_build_spark

    try:
        if target == "spark":
            result = bench_build_spark(scale, seed, _end_date(end_date), data, workdir, time_limit)
        elif target == "duckdb":
            result = bench_build(scale=scale, seed=seed, end_date=_end_date(end_date), data=data)
        else:
            raise BenchInputError(f"unknown target {target!r}: bench build runs on duckdb or spark")
    except BenchInputError as error:
        console.print(f"[red]bench build failed:[/red] {error}", soft_wrap=True)
        raise typer.Exit(2) from error
    except ChildFailed as error:
        disk = (
            ""
            if error.peak_disk_mib is None
            else f", peak disk {error.peak_disk_mib:,} MiB (temp {error.peak_spill_mib:,} MiB)"
        )
        console.print(
            f"[red]bench build failed:[/red] a step ended with exit code {error.returncode} "
            f"after {error.wall_seconds:.0f} s (peak RSS {error.peak_rss_mib:,.0f} MiB{disk})",
            soft_wrap=True,
        )
        raise typer.Exit(1) from error
    if target == "spark":
        for engine in ("duckdb", "spark"):
            build = result[engine]["build"]
            outcome = build.get("stopped", f"{build.get('summary', {}).get('passed')} nodes passed")
            console.print(
                f"build {scale} on {engine}: {build['wall_seconds']} s, peak memory "
                f"{build['peak_rss_mib']} MiB, {outcome}"
            )
        return
    build = result["build"]
    console.print(
        f"build {scale}: {build['wall_seconds']} s ({build['dbt_seconds']} s dbt), "
        f"peak RSS {build['peak_rss_mib']} MiB, peak disk {result['peak_disk_mib']:,} MiB "
        f"(temp {result['peak_spill_mib']:,} MiB), {build['summary']['passed']} nodes passed"
    )


@bench_app.command("load")
def bench_load_command(
    from_dir: Annotated[
        Path, typer.Option("--from", help="Folder of <table>.parquet files, e.g. a data set.")
    ],
    scale: Annotated[
        str, typer.Option(help="The scale of that data set (the section's name).")
    ] = "medium",
    scratch: Annotated[
        Path | None,
        typer.Option(
            help="Folder for the benchmark's warehouses, created if missing (default: a "
            "temporary one)."
        ),
    ] = None,
) -> None:
    """Time `load` against plain `create table … as select * from read_parquet(…)` of the
    same files, then a reload and a one-day delivery; record docs/benchmarks.md."""
    from opsmetrics.bench import BenchInputError, bench_load

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", load.LoadWarning)
        try:
            result = bench_load(from_dir, scale, scratch)
        except (load.LoadError, BenchInputError) as error:
            console.print(f"[red]bench load failed:[/red] {error}", soft_wrap=True)
            raise typer.Exit(2) from error
    for warning in caught:
        console.print(f"[yellow]warning:[/yellow] {warning.message}", soft_wrap=True)
    console.print(
        f"load {scale}: {result['load']['wall_seconds']} s vs plain "
        f"{result['plain']['wall_seconds']} s ({result['ratio']}x), peak RSS "
        f"{result['load']['peak_rss_mib']} MiB; one-day delivery "
        f"{result['day']['wall_seconds']} s, re-sent {result['resent']['wall_seconds']} s"
    )


@app.command("forecast")
def forecast_command(
    as_of: Annotated[
        str | None,
        typer.Option(help="Train on data up to this day, YYYY-MM-DD (default: the last day)."),
    ] = None,
    horizon: Annotated[
        int | None,
        typer.Option(help="Days ahead for every daily series (default: each series' own)."),
    ] = None,
    target: Target = "duckdb",
    metric: Annotated[
        list[str] | None,
        typer.Option(help="Only this metric (repeatable); churn_risk for the churn score."),
    ] = None,
) -> None:
    """Forecast the KPIs (ETS vs seasonal naive, 80/95 % intervals), predict capacity
    threshold crossings and score churn risk into the warehouse's `forecasts` schema.
    A rerun for the same --as-of replaces that run's rows."""
    from opsmetrics.forecast.run import ForecastError, headlines, parse_as_of, run_forecast

    try:
        run = run_forecast(parse_as_of(as_of), horizon, target, metric)
    except ForecastError as error:
        console.print(f"[red]forecast failed:[/red] {error}")
        raise typer.Exit(2) from error
    for line in headlines(run):
        console.print(line)


@bench_app.command("forecast")
def bench_forecast_command(
    scale: Scale = "medium",
    origins: Annotated[int, typer.Option(help="Rolling origins (cut-off dates).")] = 12,
) -> None:
    """Rolling-origin backtest of every forecast series (MAPE, MASE, interval coverage ± 2
    standard errors clustered by cut-off; ETS, damped ETS and seasonal naive), the churn
    score's time-split backtest, and the time of one full forecast run, on the warehouse
    (built at SCALE); records docs/benchmarks.md."""
    from opsmetrics.forecast.backtest import bench_forecast
    from opsmetrics.forecast.run import ForecastError

    try:
        lines = bench_forecast(scale=scale, origins=origins)
    except ForecastError as error:
        console.print(f"[red]bench forecast failed:[/red] {error}")
        raise typer.Exit(2) from error
    for line in lines:
        console.print(line)


def _print_counts(title: str, counts: dict[str, int]) -> None:
    table = Table(title=title)
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, count in counts.items():
        table.add_row(name, f"{count:,}")
    console.print(table)


@app.command()
def kpis(
    out: Annotated[
        Path | None, typer.Option("--out", help="Where to write the page (docs/kpis.md).")
    ] = None,
    check: Annotated[
        bool, typer.Option(help="Fail (exit 1) if the page was out of date, after fixing it.")
    ] = False,
) -> None:
    """Write the KPI registry page (every metric, its owner, target, thresholds and formula)
    from the semantic layer, after `dbt parse`."""
    from opsmetrics.semantic import (
        kpis_page_path,
        load_manifest,
        registry_problems,
        write_kpis_page,
    )

    out = out or kpis_page_path()
    changed = write_kpis_page(out)
    problems = registry_problems(load_manifest())
    for problem in problems:
        console.print(f"[red]registry:[/red] {problem}")
    console.print(f"{out}: {'updated' if changed else 'up to date'}")
    if problems or (check and changed):
        raise typer.Exit(1)


manual_app = typer.Typer(
    no_args_is_help=True, help="Manually collected metrics (market size, ...): raw.manual_metrics."
)
app.add_typer(manual_app, name="manual-metrics")


@manual_app.command("load")
def manual_metrics_load_command(
    csv: Annotated[Path, typer.Argument(help="CSV with the columns of raw.manual_metrics.")],
    target: Target = "duckdb",
) -> None:
    """Load a hand-edited CSV into raw.manual_metrics (rows already loaded with the same
    values are skipped; a corrected row replaces the earlier one at the next dbt build)."""
    from opsmetrics.manual_inputs import ManualInputError, load_manual_csv

    try:
        inserted = load_manual_csv(csv, target=target)
    except (ManualInputError, ValueError) as error:
        console.print(f"[red]manual-metrics load failed:[/red] {error}")
        raise typer.Exit(2) from error
    console.print(f"raw.manual_metrics: {inserted} row(s) inserted from {csv}")


@app.command("export-metrics")
def export_metrics_command(target: Target = "duckdb") -> None:
    """Materialise every saved query into a table of the warehouse's `metrics` schema, for
    BI tools that read the warehouse (MetricFlow compiles the SQL, the warehouse runs it)."""
    from opsmetrics.semantic import export_metrics

    with _lock_conflicts_in_one_line("export-metrics"):
        try:
            tables = export_metrics(target=target)
        except ValueError as error:
            console.print(f"[red]export-metrics failed:[/red] {error}", soft_wrap=True)
            raise typer.Exit(2) from error
    _print_counts("metric tables", tables)


from opsmetrics.alerts.cli import app as alerts_app  # noqa: E402

app.add_typer(alerts_app, name="alerts")


@bench_app.command("alerts")
def bench_alerts_command(
    scale: Scale = "small",
    seed: Seed = 42,
    end_date: EndDate = None,
    build: Annotated[
        bool, typer.Option(help="Generate, load, build and export first (else reuse).")
    ] = True,
    manifest: Annotated[
        Path | None, typer.Option(help="With --no-build: the data's manifest.json.")
    ] = None,
    data: Annotated[
        Path | None,
        typer.Option(help="Load this generated folder (read only) instead of generating."),
    ] = None,
) -> None:
    """Backtest the default alert rules against the generator's planted anomalies:
    precision, recall and false-positive rate per rule kind (warehouse/bench_alerts_SCALE)."""
    import subprocess

    from opsmetrics.alerts.backtest import bench_alerts
    from opsmetrics.alerts.warehouse import WarehouseError

    try:
        result = bench_alerts(scale, seed, _end_date(end_date), build, manifest, data)
    except (ValueError, WarehouseError) as error:
        console.print(f"[red]bench alerts:[/red] {error}")
        raise typer.Exit(2) from error
    except subprocess.CalledProcessError as error:
        step = "dbt build" if "run_dbt" in str(error.cmd) else "a build step"
        console.print(f"[red]bench alerts:[/red] {step} failed (exit {error.returncode})")
        raise typer.Exit(1) from None
    total = result["scores"]["all"]
    console.print(
        f"alerts {scale}: {total['true_episodes']}/{total['episodes']} true episodes, "
        f"{total['detected']}/{total['in_scope']} planted anomalies detected "
        "(docs/benchmarks.md)"
    )


# Publishing (issue 19): the build that holds the warehouse, the snapshot readers open,
# and the Postgres reader role.
@app.command()
def build(
    full_refresh: Annotated[
        bool, typer.Option(help="Rebuild incremental marts from scratch (a new data set).")
    ] = False,
    select: Annotated[
        str | None,
        typer.Option(help="dbt node selection, e.g. 'marts' or '+fct_mrr_monthly' (default: all)."),
    ] = None,
    target: Target = "duckdb",
) -> None:
    """`dbt build` in-process, data tests included and unit tests left to CI; fails at
    once, in one line, if the warehouse is held."""
    from opsmetrics.dbt_invoke import SCHEDULED_RUN_EXCLUDES, DbtError, run_dbt, summarise

    args = ["build", *(["--full-refresh"] if full_refresh else []), *SCHEDULED_RUN_EXCLUDES]
    args += ["--select", *select.split()] if select else []
    with _lock_conflicts_in_one_line("build"):
        try:
            summary = summarise(run_dbt(args, target))
            if select and summary.total == 0:
                raise DbtError(f"--select {select!r} matches no model, seed, snapshot or test")
        except DbtError as error:
            console.print(f"[red]build failed:[/red] {error}", soft_wrap=True, highlight=False)
            raise typer.Exit(1) from error
    console.print(
        f"dbt build: {summary.passed} passed, {summary.warned} warned, "
        f"{summary.failed + summary.errored} failed, {summary.skipped} skipped"
    )


@app.command()
def publish(
    out: Annotated[
        Path | None,
        typer.Option(help="Snapshot file (default OPSMETRICS_PUBLISHED_PATH)."),
    ] = None,
) -> None:
    """Write the read-only snapshot BI tools open (marts, metrics, alerts, forecasts),
    after a successful build and quality run; exit 1 (previous snapshot kept) otherwise."""
    from opsmetrics.locking import WarehouseLockedError
    from opsmetrics.publish import PublishRefusedError
    from opsmetrics.publish import publish as publish_snapshot

    try:
        snapshot = publish_snapshot(out=out)
    except (PublishRefusedError, WarehouseLockedError) as error:
        console.print(f"[red]not published:[/red] {error}", soft_wrap=True, highlight=False)
        raise typer.Exit(1) from error
    console.print(
        f"published {len(snapshot.tables)} tables to {snapshot.path} "
        f"(data as of {snapshot.data_as_of}, commit {snapshot.git_commit[:12]})",
        highlight=False,
    )


@app.command("bi-setup")
def bi_setup_command() -> None:
    """Set up Superset (.venv-bi): the published snapshot (read-only), the Postgres marts
    when OPSMETRICS_PG_HOST is set, and the KPI dashboard bundle of bi/bundle."""
    from opsmetrics.bi import BiError, setup, superset_home

    try:
        registered = setup()
    except BiError as error:
        console.print(f"[red]bi-setup failed:[/red] {error}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from error
    for line in registered:
        console.print(f"database {line}", highlight=False)
    console.print(
        f"Superset ready: `make bi-serve`, user admin, password in "
        f"{superset_home() / 'admin_password'} (or OPSMETRICS_BI_ADMIN_PASSWORD)",
        highlight=False,
    )


@app.command("bi-serve")
def bi_serve_command(port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = 8088) -> None:
    """Run Superset on 127.0.0.1 until interrupted (Ctrl-C)."""
    import threading

    from opsmetrics.bi import BiError, running_superset

    try:
        with running_superset(port) as url:
            console.print(f"Superset on {url} (Ctrl-C stops it)")
            threading.Event().wait()
    except BiError as error:
        console.print(f"[red]bi-serve failed:[/red] {error}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from error
    except KeyboardInterrupt:
        console.print("Superset stopped")


@app.command(
    "mf",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    add_help_option=False,
)
def mf_command(context: typer.Context) -> None:
    """MetricFlow's `mf <args>` (e.g. `opsmetrics mf query --metrics mrr`) on this project
    and warehouse, after checking that no build holds the DuckDB warehouse (one line if
    one does)."""
    import os
    import sys

    from opsmetrics.settings import child_environment, dbt_environment

    target = os.environ.get("OPSMETRICS_TARGET", "duckdb")
    if target == "duckdb":
        exit_if_warehouse_locked("mf", read_only=True)
    mf = Path(sys.executable).parent / "mf"
    # mf reads the project from its working directory and the profile from the environment.
    os.chdir(project_dir())
    os.execve(mf, [str(mf), *context.args], child_environment(**dbt_environment(target)))


def exit_if_warehouse_locked(command: str, read_only: bool) -> None:
    """End `command` with one line (exit code 2) if another process holds the warehouse,
    before it starts."""
    from opsmetrics.locking import WarehouseLockedError, ensure_warehouse_free

    try:
        ensure_warehouse_free(read_only=read_only)
    except WarehouseLockedError as error:
        console.print(f"[red]{command} failed:[/red] {error}", soft_wrap=True, highlight=False)
        raise typer.Exit(2) from error


@app.command("postgres-reader")
def postgres_reader_command(
    role: Annotated[str, typer.Option(help="Role name.")] = "opsmetrics_reader",
) -> None:
    """Create the read-only Postgres role (SELECT on marts and metrics only). It can log
    in with OPSMETRICS_PG_READER_PASSWORD when set; otherwise grant it to BI users."""
    import os

    from opsmetrics.postgres_reader import ReaderRoleError, setup_reader_role

    try:
        schemas = setup_reader_role(role, os.environ.get("OPSMETRICS_PG_READER_PASSWORD"))
    except ReaderRoleError as error:
        console.print(
            f"[red]postgres-reader failed:[/red] {error}", highlight=False, soft_wrap=True
        )
        raise typer.Exit(2) from error
    console.print(f"role {role} can read {', '.join(schemas)} (SELECT only)")


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
            f"{name}: cold {timing['cold_seconds']} s, reload median "
            f"{timing['warm_median_seconds']} s (max {timing['warm_max_seconds']} s), "
            f"navigation median {timing['navigation_median_seconds']} s"
        )


@app.command()
def report(
    audience: Annotated[str, typer.Option(help="executive | product | growth | operational")],
    period: Annotated[
        str | None,
        typer.Option(
            help="The month, YYYY-MM (default: the last month ended by the data's as-of "
            "stamp, as the dashboards show)."
        ),
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="html | pdf")] = "html",
    out: Annotated[
        Path | None,
        typer.Option("--out", help="File to write (default reports/AUDIENCE-PERIOD.FORMAT)."),
    ] = None,
    target: Target = "duckdb",
    email: Annotated[
        bool,
        typer.Option(
            "--email",
            help="Also send it (attached) through the alerts' email channel "
            "(alerts/policies.yml; its apprise URL from OPSMETRICS_ALERT_EMAIL_URL).",
        ),
    ] = False,
) -> None:
    """Write a self-contained KPI report (KPIs vs target and last period, biggest movers,
    firing alerts, forecast) as HTML or PDF; with --email, send it too."""
    import os

    from opsmetrics.dashboards.data import DataUnavailable
    from opsmetrics.dashboards.report import (
        EmailError,
        ReportError,
        collect,
        default_path,
        email_report,
        write,
    )

    try:
        data = collect(audience, period, target)
        path = write(data, out or default_path(data, fmt), fmt)
    except (ReportError, DataUnavailable, ValueError) as error:
        console.print(f"[red]report failed:[/red] {error}")
        raise typer.Exit(2) from error
    if email:
        try:
            email_report(data, path, os.environ)
        except EmailError as error:
            console.print(f"[red]wrote {path} but {error}[/red]", highlight=False)
            raise typer.Exit(2 if error.config else 1) from error
        console.print(f"wrote {path} and e-mailed it", highlight=False)
        return
    console.print(f"wrote {path}")


# Issue 13: the daily run's benchmark and retention (prune).
@bench_app.command("daily")
def bench_daily_command(
    scale: Annotated[str, typer.Option(help="medium | large (any generator scale works)")] = (
        "medium"
    ),
    data: Annotated[
        Path | None,
        typer.Option(help="A generated data set to use instead of generating one at SCALE."),
    ] = None,
    seed: Seed = 42,
    end_date: EndDate = None,
    workdir: Annotated[
        Path | None,
        typer.Option(help="Folder for the scratch warehouses, created if missing (default: temp)."),
    ] = None,
) -> None:
    """Full build of all days but the last, load the last day, time the daily build and
    the load apart, and the daily build again with nothing delivered; check the marts
    equal a full refresh of all days (docs/benchmarks.md)."""
    from opsmetrics.bench import BenchInputError
    from opsmetrics.bench_daily import BenchRunError, bench_daily

    try:
        result = bench_daily(
            scale=scale, data=data, seed=seed, end_date=_end_date(end_date), workdir=workdir
        )
    except BenchInputError as error:
        console.print(f"[red]bench daily failed:[/red] {error}")
        raise typer.Exit(2) from error
    except BenchRunError as error:
        console.print(f"[red]bench daily failed:[/red] {error}")
        raise typer.Exit(1) from error
    daily, full = result["daily"], result["full"]
    console.print(
        f"daily {scale}: load {result['load']['wall_seconds']} s, daily build "
        f"{daily['wall_seconds']} s, full refresh {full['wall_seconds']} s "
        f"(peak RSS {full['peak_rss_mib']} MiB): "
        f"{daily['wall_seconds'] / full['wall_seconds']:.3f} of the full refresh; "
        + (
            "marts row-equal"
            if not result["differing"]
            else f"NOT row-equal: {', '.join(sorted(result['differing']))}"
        )
    )


@app.command("prune")
def prune_command(
    dry_run: Annotated[
        bool, typer.Option(help="Count what would be deleted; delete nothing.")
    ] = False,
) -> None:
    """Delete raw and staged rows older than var retention_days (dbt_project.yml) from the
    DuckDB warehouse, once the last build has aggregated them; logs the prune, after which
    dbt refuses --full-refresh."""
    from opsmetrics.retention import RetentionError, prune, read_policy
    from opsmetrics.settings import duckdb_path, project_dir

    try:
        results = prune(duckdb_path(), read_policy(project_dir()), dry_run=dry_run)
    except RetentionError as error:
        console.print(f"[red]prune failed:[/red] {error}")
        raise typer.Exit(2) from error
    verb = "would delete" if dry_run else "deleted"
    for result in results:
        console.print(
            f"{result.table}: {verb} {result.raw_rows:,} raw and {result.staged_rows:,} staged "
            f"rows loaded before {result.loaded_before:%Y-%m-%d %H:%M}"
        )
    if not results:
        console.print("no retention policy set (var retention_days)")
