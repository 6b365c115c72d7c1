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


def record(result: dict, doc: Path = BENCHMARKS_DOC) -> None:
    """Add or replace the result's section in the benchmarks document."""
    text = doc.read_text() if doc.exists() else INTRO
    heading = f"## {result['benchmark']}, scale {result['scale']}"
    pattern = re.compile(rf"^{re.escape(heading)}\n.*?(?=^## |\Z)", re.MULTILINE | re.DOTALL)
    section = _section(result)
    if pattern.search(text):
        text = pattern.sub(lambda _: section, text)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text(text)
