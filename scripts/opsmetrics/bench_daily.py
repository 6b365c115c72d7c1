"""`opsmetrics bench daily`: what the daily run costs next to a full refresh.

A data set is split at the start of its last day (by `_loaded_at`; rows without it go
with the history). One warehouse is built with `dbt build --full-refresh` on everything
loaded before, then the last day is loaded and the daily `dbt build` runs; load and
build are timed apart. The daily build then runs once more with nothing delivered: the
floor of a daily run on that warehouse (dbt's cost per node, and what reads history
whatever was loaded). A second warehouse builds all days with `--full-refresh`. The
daily warehouse's marts must equal the full refresh's, row for row.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import date, datetime
from pathlib import Path
from typing import TypeVar

import duckdb

from opsmetrics.bench import (
    BenchInputError,
    DiskPeaks,
    _generate_child,
    _machine_line,
    _result,
    _run_child,
    _run_dbt_child,
    _slowest,
    check_data_set,
    record,
    scratch_directory,
    split_by_loaded_at,
)
from opsmetrics.settings import duckdb_memory_limit, duckdb_spill_settings

# Schemas dbt builds that hold aggregates a reader uses; staging is compared through them.
COMPARED_SCHEMAS = ("marts", "intermediate")
# Sums are added in another order on the two paths: doubles are compared to this many
# significant digits.
SIGNIFICANT_DIGITS = 12
T = TypeVar("T")


class BenchDailyError(BenchInputError):
    """Bad input for the daily benchmark (missing data set, unknown scale)."""


class BenchRunError(RuntimeError):
    """A step of the daily benchmark (a load or a dbt build) failed."""


def _step(name: str, run: Callable[[], T]) -> T:
    """Run one timed step and say on stderr how long it took (a run of half an hour shows
    its progress, and a stopped run its figures so far); a failing child becomes one
    BenchRunError line."""
    started = time.perf_counter()
    try:
        outcome = run()
    except subprocess.CalledProcessError as error:
        raise BenchRunError(f"{name} failed (exit code {error.returncode})") from error
    print(f"{name}: {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)
    return outcome


def last_day(data: Path) -> date:
    """The last day of a generated data set (its manifest's end_date)."""
    manifest = data / "manifest.json"
    if not manifest.is_file():
        raise BenchDailyError(f"no manifest.json in {data}: not a generated data set")
    try:
        return date.fromisoformat(json.loads(manifest.read_text())["end_date"])
    except (KeyError, ValueError, TypeError) as error:
        raise BenchDailyError(f"{manifest}: no valid end_date ({error})") from error


def _comparable(column: str, data_type: str) -> str:
    if data_type in ("DOUBLE", "FLOAT", "REAL"):
        # Relative rounding: the same value summed in another order can differ in the
        # last bits, never in the first SIGNIFICANT_DIGITS.
        return (
            f'case when "{column}" is null or "{column}" = 0 or not isfinite("{column}") '
            f'then "{column}" else round("{column}", {SIGNIFICANT_DIGITS} - 1 - '
            f'cast(floor(log10(abs("{column}"))) as integer)) end'
        )
    return f'"{column}"'


def differing_rows(left: Path, right: Path) -> dict[str, int]:
    """Rows in one warehouse but not the other (as multisets), per table of
    COMPARED_SCHEMAS; a table missing on one side counts all its rows. The comparison
    keeps the profile's memory limit and spills where `left`'s builds do, under the same cap
    (at large, DuckDB's defaults took 19.9 GB and spilled into the working directory)."""
    differences: dict[str, int] = {}
    config = {"memory_limit": duckdb_memory_limit(), **duckdb_spill_settings(left)}
    with duckdb.connect(config=config) as connection:
        connection.execute(f"attach '{left}' as l (read_only)")
        connection.execute(f"attach '{right}' as r (read_only)")
        tables = connection.execute(
            "select table_catalog, table_schema, table_name from information_schema.tables "
            "where table_catalog in ('l', 'r') and table_type = 'BASE TABLE' "
            f"and table_schema in {COMPARED_SCHEMAS}"
        ).fetchall()
        names = sorted({(schema, name) for _, schema, name in tables})
        present = {(catalog, schema, name) for catalog, schema, name in tables}
        for schema, name in names:
            label = f"{schema}.{name}"
            if ("l", schema, name) not in present or ("r", schema, name) not in present:
                side = "l" if ("l", schema, name) in present else "r"
                differences[label] = connection.execute(
                    f'select count(*) from {side}."{schema}"."{name}"'
                ).fetchone()[0]
                continue
            columns = connection.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_catalog = 'l' and table_schema = ? and table_name = ? "
                "order by ordinal_position",
                [schema, name],
            ).fetchall()
            select = ", ".join(_comparable(c, t) for c, t in columns)
            differences[label] = connection.execute(
                f"""
                select count(*) from (
                    (select {select} from l."{schema}"."{name}"
                     except all select {select} from r."{schema}"."{name}")
                    union all
                    (select {select} from r."{schema}"."{name}"
                     except all select {select} from l."{schema}"."{name}")
                )
                """
            ).fetchone()[0]
    return differences


def _load_child(data: Path, warehouse: Path) -> tuple[float, float, str]:
    """Load `data` into `warehouse` in a child process; wall seconds, peak RSS, output."""
    env = {**os.environ, "OPSMETRICS_DUCKDB_PATH": str(warehouse)}
    code = (
        "import json, pathlib\n"
        "from opsmetrics.load import load_duckdb\n"
        f"print('LOADED', json.dumps(load_duckdb(pathlib.Path({str(data)!r}))))\n"
    )
    return _run_child(code, env)


def bench_daily(
    scale: str = "medium",
    data: Path | None = None,
    seed: int = 42,
    end_date: date | None = None,
    workdir: Path | None = None,
    doc: Path | None = None,
) -> dict:
    """Run the daily benchmark on `data` (a generated data set; generated at `scale`
    into the scratch folder when None) and record the result in `doc`."""
    from opsmetrics.dbt_invoke import SCHEDULED_RUN_EXCLUDES

    if data is not None and not data.is_dir():
        raise BenchDailyError(f"data set folder not found: {data}")
    check_data_set(scale, data)
    # The scheduled run's build (`opsmetrics build`: data tests, no unit tests), daily and
    # as the full refresh it is compared with.
    scheduled_build = ["build", *SCHEDULED_RUN_EXCLUDES]
    full_refresh = [*scheduled_build, "--full-refresh"]
    with scratch_directory("opsmetrics-bench-daily-", workdir) as scratch:
        root = Path(scratch)
        if data is None:
            data = root / "data"
            _step("generate", lambda: _generate_child(scale, seed, end_date or date.today(), data))
        day = last_day(data)
        cutoff = datetime(day.year, day.month, day.day)
        before, after = root / "before", root / "after"
        # Unstamped rows go with the history: a generated set nulls `_loaded_at` of rows
        # from every day, and a user row that is unstamped in the history must be there,
        # or its earlier events would be judged orphans (docs/decisions.md, issue 13).
        split_by_loaded_at(data, before, after, cutoff, unstamped_before=True)

        daily_warehouse = root / "daily.duckdb"
        _step("load of the days before the last", lambda: _load_child(before, daily_warehouse))
        history = _step(
            "dbt build --full-refresh of the days before the last",
            lambda: _run_dbt_child(full_refresh, daily_warehouse),
        )
        load_wall, load_rss, load_output = _step(
            "load of the last day", lambda: _load_child(after, daily_warehouse)
        )
        daily = _step("daily dbt build", lambda: _run_dbt_child(scheduled_build, daily_warehouse))
        nothing_new = _step(
            "daily dbt build with nothing delivered",
            lambda: _run_dbt_child(scheduled_build, daily_warehouse),
        )

        full_warehouse = root / "full.duckdb"
        with DiskPeaks(full_warehouse) as full_disk:
            _step("load of all days", lambda: _load_child(data, full_warehouse))
            full = _step(
                "dbt build --full-refresh of all days",
                lambda: _run_dbt_child(full_refresh, full_warehouse),
            )
        differences = differing_rows(daily_warehouse, full_warehouse)
    loaded = json.loads(load_output.split("LOADED", 1)[1])
    result = _result(
        "daily",
        scale,
        last_day=day.isoformat(),
        history=asdict(history),
        load={"wall_seconds": round(load_wall, 1), "peak_rss_mib": round(load_rss)},
        loaded_rows=sum(loaded.values()),
        daily=asdict(daily),
        nothing_new=asdict(nothing_new),
        full=asdict(full),
        full_peak_disk_mib=full_disk.total_mib,
        tables_compared=len(differences),
        differing={name: rows for name, rows in differences.items() if rows},
        duckdb_memory_limit=duckdb_memory_limit(),
    )
    record(result, doc, render=daily_section)
    return result


def daily_section(result: dict) -> str:
    """The benchmarks document's section for a `bench daily` result."""
    history, daily, full = result["history"], result["daily"], result["full"]
    nothing_new = result["nothing_new"]
    share = daily["wall_seconds"] / full["wall_seconds"]
    dbt_share = daily["dbt_seconds"] / full["dbt_seconds"]
    floor_share = nothing_new["wall_seconds"] / full["wall_seconds"]
    differing = result["differing"]
    equality = (
        f"all {result['tables_compared']} tables of marts and intermediate are row-equal "
        "to the full refresh's"
        if not differing
        else "NOT row-equal to the full refresh: "
        + ", ".join(f"{name} {rows} rows" for name, rows in sorted(differing.items()))
    )
    lines = [
        f"## daily, scale {result['scale']}",
        "",
        f"Run {result['date']}, measured while other jobs ran. The data set is split at "
        f"the start of its last day ({result['last_day']}, by `_loaded_at`). "
        "`dbt build --full-refresh` (every model, seed and data test; unit tests are "
        "left to CI, as in `opsmetrics build`) on the days before, "
        f"then the last day is loaded ({result['loaded_rows']:,} raw rows) and the daily "
        "`dbt build` runs, then runs again with nothing delivered; a second warehouse "
        "builds all days with `--full-refresh`. "
        f"DuckDB threads 2, memory_limit {result['duckdb_memory_limit']}. Wall time is "
        "the whole process (Python start and project parsing included).",
        "",
        "| run | wall time | dbt time | peak RSS (one process) |",
        "|---|---:|---:|---:|",
        f"| full refresh, all days but the last | {history['wall_seconds']} s | "
        f"{history['dbt_seconds']} s | {history['peak_rss_mib']} MiB |",
        f"| load of the last day | {result['load']['wall_seconds']} s | | "
        f"{result['load']['peak_rss_mib']} MiB |",
        f"| daily `dbt build` after it | {daily['wall_seconds']} s | "
        f"{daily['dbt_seconds']} s | {daily['peak_rss_mib']} MiB |",
        f"| the same build again, nothing delivered | {nothing_new['wall_seconds']} s | "
        f"{nothing_new['dbt_seconds']} s | {nothing_new['peak_rss_mib']} MiB |",
        f"| full refresh, all days | {full['wall_seconds']} s | {full['dbt_seconds']} s | "
        f"{full['peak_rss_mib']} MiB |",
        "",
        f"Peak disk of the all-days warehouse (its load and full refresh: the DuckDB file "
        f"and DuckDB's spill beside it): **{result['full_peak_disk_mib']:,} MiB**.",
        "",
        f"Daily build ÷ full refresh: **{share:.3f}** of the wall time ({dbt_share:.3f} of "
        f"dbt time). Result: {equality}. With nothing delivered the same build takes "
        f"**{floor_share:.3f}** of the full refresh (dbt's cost per node, and the models "
        "that read history whatever was loaded). Slowest nodes, daily: "
        f"{_slowest(daily)}; nothing delivered: {_slowest(nothing_new)}; "
        f"full: {_slowest(full)}.",
        "",
        _machine_line(result),
    ]
    return "\n".join(lines)
