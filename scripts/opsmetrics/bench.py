"""Benchmarks: time a job in a child process and record wall time and peak memory.

Results are kept in docs/benchmarks.md, one section per benchmark and scale, replaced
when the benchmark is run again.
"""

from __future__ import annotations

import json
import os
import platform
import re
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

from opsmetrics import PROJECT_DIR

BENCHMARKS_DOC = PROJECT_DIR / "docs" / "benchmarks.md"
INTRO = """# Benchmarks

Measured with `opsmetrics bench <job> --scale <scale>`: the job runs in a child
process; wall time is measured around it and peak memory is the child's maximum
resident set size (`getrusage(RUSAGE_CHILDREN).ru_maxrss`). Each section is replaced
when its benchmark is run again.
"""


def machine() -> dict[str, str]:
    """What the numbers were measured on."""
    cpu = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        found = re.search(r"^model name\s*:\s*(.+)$", cpuinfo.read_text(), re.MULTILINE)
        cpu = found.group(1).strip() if found else cpu
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "CPU": cpu,
        "cores (nproc)": str(os.cpu_count()),
        "memory": f"{memory:.1f} GiB",
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
    }


def _run_child(code: str) -> tuple[float, float]:
    """Run Python `code` in a child; returns wall seconds and peak RSS in MiB."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    peak_kib = max(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, before)
    return wall, peak_kib / 1024


def bench_generate(
    scale: str = "medium",
    seed: int = 42,
    end_date: date | None = None,
    out: Path | None = None,
    doc: Path = BENCHMARKS_DOC,
) -> dict:
    """Time `generate` at `scale` in a fresh process and record the result in `doc`."""
    end = (end_date or datetime.now(UTC).date()).isoformat()
    with tempfile.TemporaryDirectory(prefix="opsmetrics-bench-") as scratch:
        target = out or Path(scratch)
        code = (
            "import datetime, pathlib\n"
            "from opsmetrics.generate import generate\n"
            f"generate({scale!r}, {seed}, pathlib.Path({str(target)!r}), "
            f"end_date=datetime.date.fromisoformat({end!r}))\n"
        )
        wall, peak_mib = _run_child(code)
        manifest = json.loads((target / "manifest.json").read_text())
    result = {
        "benchmark": "generate",
        "scale": scale,
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "wall_seconds": round(wall, 1),
        "peak_rss_mib": round(peak_mib),
        "rows": {name: t["rows"] for name, t in manifest["tables"].items()},
        "machine": machine(),
    }
    record(result, doc)
    return result


def bench_quality(scale: str = "medium", doc: Path = BENCHMARKS_DOC) -> dict:
    """Time `run_quality` on the warehouse at OPSMETRICS_DUCKDB_PATH (built beforehand at
    `scale`) in a fresh process and record the result in `doc`."""
    from opsmetrics.contract import raw_tables
    from opsmetrics.settings import duckdb_path

    warehouse = duckdb_path()
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        rows = {
            name: connection.execute(f"select count(*) from raw.{name}").fetchone()[0]
            for name in raw_tables()
        }
    with tempfile.TemporaryDirectory(prefix="opsmetrics-bench-") as scratch:
        outcome_file = Path(scratch) / "outcome.json"
        code = (
            "import json, pathlib\n"
            "from opsmetrics.quality import run_quality\n"
            "r = run_quality()\n"
            f"pathlib.Path({str(outcome_file)!r}).write_text(json.dumps("
            "{'passed': r.passed, 'failed': r.failed, 'errors': r.errors}))\n"
        )
        wall, peak_mib = _run_child(code)
        outcome = json.loads(outcome_file.read_text())
    result = {
        "benchmark": "quality",
        "scale": scale,
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "wall_seconds": round(wall, 1),
        "peak_rss_mib": round(peak_mib),
        "note": (
            f"Every suite of gx/suites.yml through one GX checkpoint, Data Docs included: "
            f"{outcome['passed']} expectations passed, {outcome['failed']} failed, "
            f"{outcome['errors']} engine errors. Rows are the raw tables validated; staging "
            f"views are computed by DuckDB inside the metric queries."
        ),
        "rows": rows,
        "machine": machine(),
    }
    record(result, doc)
    return result


def _section(result: dict) -> str:
    lines = [
        f"## {result['benchmark']}, scale {result['scale']}",
        "",
        f"Run {result['date']}: **{result['wall_seconds']} s** wall time, "
        f"**{result['peak_rss_mib']} MiB** peak RSS.",
        "",
        *([result["note"], ""] if result.get("note") else []),
        "| table | rows |",
        "|---|---:|",
        *(f"| {name} | {rows:,} |" for name, rows in result["rows"].items()),
        f"| **total** | {sum(result['rows'].values()):,} |",
        "",
        "Machine: " + "; ".join(f"{k} {v}" for k, v in result["machine"].items()) + ".",
        "",
    ]
    return "\n".join(lines)


OPERATIONS_MODELS = ["+models/marts/operations", "+models/intermediate/operations"]


def _run_dbt_child(args: list[str], warehouse: Path) -> tuple[float, float, float]:
    """Run `dbt <args>` on `warehouse` in a child. Returns the child's wall seconds
    (Python start and dbt parsing included), dbt's own elapsed seconds for the run, and
    the peak RSS (MiB) of that child alone (os.wait4: earlier children do not count)."""
    code = (
        "from opsmetrics.dbt_invoke import run_dbt\n"
        f"result = run_dbt({args!r})\n"
        "print('DBT_ELAPSED', result.result.elapsed_time)\n"
    )
    env = {**os.environ, "OPSMETRICS_DUCKDB_PATH": str(warehouse)}
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-c", code],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        cwd=PROJECT_DIR,
        text=True,
    )
    output = child.stdout.read() if child.stdout else ""
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise subprocess.CalledProcessError(child.returncode, ["dbt", *args], output)
    elapsed = float(re.findall(r"^DBT_ELAPSED (\S+)$", output, re.MULTILINE)[-1])
    return wall, elapsed, usage.ru_maxrss / 1024


def split_by_loaded_at(source: Path, before: Path, after: Path, cutoff: datetime) -> None:
    """Copy every table of `source` into `before` (rows loaded before `cutoff`) and
    `after` (the rest: the last day, late rows of earlier days, re-sent copies)."""
    for folder in (before, after):
        folder.mkdir(parents=True, exist_ok=True)
    with duckdb.connect() as connection:
        for path in sorted(source.glob("*.parquet")):
            for folder, condition in ((before, "<"), (after, ">=")):
                connection.execute(
                    f"copy (select * from read_parquet('{path}') "
                    f"where _loaded_at {condition} '{cutoff}') "
                    f"to '{folder / path.name}' (format parquet)"
                )


def bench_operations(
    scale: str = "medium",
    seed: int = 42,
    end_date: date | None = None,
    doc: Path = BENCHMARKS_DOC,
) -> dict:
    """Time the operations marts at `scale`: a full build of the data loaded before the
    last day, then the incremental run after loading the last day (plus late rows);
    records wall time and the dbt child's peak RSS for each in `doc`."""
    from opsmetrics.load import load_duckdb

    end = end_date or datetime.now(UTC).date()
    cutoff = datetime(end.year, end.month, end.day)
    with tempfile.TemporaryDirectory(prefix="opsmetrics-bench-") as scratch:
        root = Path(scratch)
        data, before, after = root / "data", root / "before", root / "after"
        _run_child(
            "import datetime, pathlib\n"
            "from opsmetrics.generate import generate\n"
            f"generate({scale!r}, {seed}, pathlib.Path({str(data)!r}), "
            f"end_date=datetime.date.fromisoformat({end.isoformat()!r}))\n"
        )
        split_by_loaded_at(data, before, after, cutoff)
        warehouse = root / "bench.duckdb"
        previous = os.environ.get("OPSMETRICS_DUCKDB_PATH")
        os.environ["OPSMETRICS_DUCKDB_PATH"] = str(warehouse)
        try:
            load_duckdb(before)
            _run_dbt_child(["seed", "--select", "slo_targets"], warehouse)
            full_wall, full_elapsed, full_rss = _run_dbt_child(
                ["run", "--select", *OPERATIONS_MODELS], warehouse
            )
            with duckdb.connect(str(warehouse)) as connection:
                full_rows = connection.execute(
                    "select count(*) from marts.fct_api_requests"
                ).fetchone()[0]
            new_rows = load_duckdb(after)["api_requests"]
            incremental_wall, incremental_elapsed, incremental_rss = _run_dbt_child(
                ["run", "--select", *OPERATIONS_MODELS], warehouse
            )
        finally:
            if previous is None:
                os.environ.pop("OPSMETRICS_DUCKDB_PATH", None)
            else:
                os.environ["OPSMETRICS_DUCKDB_PATH"] = previous
    result = {
        "benchmark": "operations",
        "scale": scale,
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "full_seconds": round(full_wall, 1),
        "full_dbt_seconds": round(full_elapsed, 1),
        "full_peak_rss_mib": round(full_rss),
        "full_requests": full_rows,
        "incremental_seconds": round(incremental_wall, 1),
        "incremental_dbt_seconds": round(incremental_elapsed, 1),
        "incremental_peak_rss_mib": round(incremental_rss),
        "incremental_raw_requests": new_rows,
        "duckdb_memory_limit": os.environ.get("OPSMETRICS_DUCKDB_MEMORY_LIMIT", "8GB"),
        "machine": machine(),
    }
    record(result, doc)
    return result


def _operations_section(result: dict) -> str:
    share = result["incremental_seconds"] / result["full_seconds"] * 100
    dbt_share = result["incremental_dbt_seconds"] / result["full_dbt_seconds"] * 100
    lines = [
        f"## operations, scale {result['scale']}",
        "",
        f"Run {result['date']}: `dbt run --select {' '.join(OPERATIONS_MODELS)}` (the "
        "operations marts and all their parents; seed loaded beforehand, tests not "
        f"timed), DuckDB threads 2, memory_limit {result['duckdb_memory_limit']}. "
        "Wall time is the whole dbt process (Python start and project parsing "
        "included); dbt time is dbt's own elapsed time for the run.",
        "",
        "| run | wall time | dbt time | peak RSS (dbt process) | requests |",
        "|---|---:|---:|---:|---:|",
        f"| full build (all data loaded before the last day) | {result['full_seconds']} s | "
        f"{result['full_dbt_seconds']} s | {result['full_peak_rss_mib']} MiB | "
        f"{result['full_requests']:,} in the fact |",
        f"| incremental, after loading the last day + late rows | "
        f"{result['incremental_seconds']} s | {result['incremental_dbt_seconds']} s | "
        f"{result['incremental_peak_rss_mib']} MiB | "
        f"{result['incremental_raw_requests']:,} raw rows loaded |",
        "",
        f"The incremental run takes {share:.1f} % of the full build's wall time "
        f"({dbt_share:.1f} % of its dbt time).",
        "",
        "Machine: " + "; ".join(f"{k} {v}" for k, v in result["machine"].items()) + ".",
        "",
    ]
    return "\n".join(lines)


SECTIONS = {"generate": _section, "operations": _operations_section}


def record(result: dict, doc: Path = BENCHMARKS_DOC) -> None:
    """Add or replace the result's section in the benchmarks document."""
    text = doc.read_text() if doc.exists() else INTRO
    heading = f"## {result['benchmark']}, scale {result['scale']}"
    pattern = re.compile(rf"^{re.escape(heading)}\n.*?(?=^## |\Z)", re.MULTILINE | re.DOTALL)
    section = SECTIONS[result["benchmark"]](result)
    if pattern.search(text):
        text = pattern.sub(lambda _: section, text)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text(text)
