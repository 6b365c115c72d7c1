"""Benchmarks: time a job in a child process and record wall time and peak memory.

Results are kept in docs/benchmarks.md, one section per benchmark and scale, replaced
when the benchmark is run again.
"""

from __future__ import annotations

import json
import os
import platform
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb

from opsmetrics.delivery import LoadError, find_files
from opsmetrics.settings import (
    duckdb_memory_limit,
    duckdb_path,
    duckdb_spill_settings,
    duckdb_temp_directory,
    duckdb_threads,
    load_memory_limit,
    project_dir,
    scoped_environment,
)

INTRO = """# Benchmarks

Measured with `opsmetrics bench <job> --scale <scale>`: the job runs in a child
process; wall time is measured around it and peak memory is that child's own maximum
resident set size, from `os.wait4` when it ends (`ru_maxrss` of that child alone:
earlier children of the same benchmark do not count). Each section is replaced when
its benchmark is run again.
"""


def benchmarks_doc() -> Path:
    """docs/benchmarks.md of the project, where every benchmark records its section."""
    return project_dir() / "docs" / "benchmarks.md"


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


def _result(benchmark: str, scale: str, **fields: object) -> dict:
    """A benchmark result: what ran, when, the measured `fields`, and on what machine."""
    return {
        "benchmark": benchmark,
        "scale": scale,
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        **fields,
        "machine": machine(),
    }


def _duckdb_settings() -> dict[str, object]:
    """The DuckDB settings (profiles.yml) a build benchmark ran with, for its result."""
    return {"duckdb_memory_limit": duckdb_memory_limit(), "duckdb_threads": duckdb_threads()}


class BenchInputError(ValueError):
    """Bad input for a benchmark (unknown scale or target, missing data set): one line."""


def scratch_directory(prefix: str, parent: Path | None) -> tempfile.TemporaryDirectory[str]:
    """A temporary folder for a benchmark's warehouses, removed when its `with` block
    ends: under `parent` (a --workdir or --scratch, created with its parents if missing),
    else under the system's. A `parent` that cannot be a folder is a BenchInputError."""
    if parent is not None:
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise BenchInputError(f"{parent}: cannot make it a folder ({error.strerror})") from None
    return tempfile.TemporaryDirectory(prefix=prefix, dir=parent)


class ChildFailed(subprocess.CalledProcessError):
    """A benchmark child that failed or ran past its time limit, with what was measured
    until it ended: wall seconds, peak RSS (MiB) and its stdout."""

    def __init__(
        self, returncode: int, code: str, output: str, wall: float, peak_mib: float, timed_out: bool
    ) -> None:
        super().__init__(returncode, code, output)
        self.wall_seconds = wall
        self.peak_rss_mib = peak_mib
        self.timed_out = timed_out
        # Set by a benchmark that sampled the warehouse's disk around the child.
        self.peak_disk_mib: int | None = None
        self.peak_spill_mib: int | None = None


def process_tree_rss_mib(root: int) -> float:
    """Resident memory (MiB) of process `root` and every process below it (a JVM that
    pyspark started, for one), summed from /proc; 0 once `root` has ended."""
    parents: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/stat") as handle:
                    parents[int(entry.name)] = int(handle.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue  # ended while we looked
    tree, grown = {root}, True
    while grown:
        below = {pid for pid, parent in parents.items() if parent in tree} - tree
        tree |= below
        grown = bool(below)
    pages = 0
    for pid in tree:
        try:
            with open(f"/proc/{pid}/statm") as handle:
                pages += int(handle.read().split()[1])
        except (OSError, IndexError, ValueError):
            continue
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


class PeakSampler:
    """The highest value `measure()` returned while the `with` block ran, sampled every
    `interval` seconds in a thread (and once more at the end): a process tree's resident
    memory, the disk a warehouse and its spill take."""

    def __init__(self, measure: Callable[[], float], interval: float = 0.25) -> None:
        self.measure, self.interval, self.peak = measure, interval, 0.0
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while True:
            self.peak = max(self.peak, self.measure())
            if self._stopped.wait(self.interval):
                return

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join()
        self.peak = max(self.peak, self.measure())

    def __enter__(self) -> PeakSampler:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _allocated_bytes(path: str | Path) -> int:
    try:
        return os.lstat(path).st_blocks * 512
    except FileNotFoundError:
        return 0


def disk_bytes(*paths: Path) -> int:
    """Bytes the files at `paths` take on disk, folders counted with everything under
    them (allocated blocks: DuckDB's files are sparse while it writes). A path that does
    not exist adds 0, as does a file or folder removed while it counts (DuckDB removes
    its temp directory when it no longer spills; os.walk skips a folder it cannot list)."""
    total = 0
    for path in paths:
        total += _allocated_bytes(path)
        for folder, folders, files in os.walk(path):
            total += sum(_allocated_bytes(os.path.join(folder, name)) for name in folders + files)
    return total


DISK_INTERVAL = 1.0
"""Seconds between two samples of a warehouse's disk use."""


class DiskPeaks:
    """Peak disk (MiB) of the DuckDB warehouse `warehouse` while the `with` block ran:
    `total_mib` counts the file, its write-ahead log and DuckDB's temp directory
    (profiles.yml's temp_directory, where it spills), `spill_mib` that directory alone."""

    def __init__(self, warehouse: Path, interval: float = DISK_INTERVAL) -> None:
        self._files = (warehouse, warehouse.with_name(warehouse.name + ".wal"))
        self._spill = duckdb_temp_directory(warehouse)
        self._spill_peak = 0
        self._total = PeakSampler(self._measure, interval)

    def _measure(self) -> float:
        """The total now; the spill's peak is kept on the way (one walk of the spill)."""
        spill = disk_bytes(self._spill)
        self._spill_peak = max(self._spill_peak, spill)
        return disk_bytes(*self._files) + spill

    @property
    def total_mib(self) -> int:
        return round(self._total.peak / 2**20)

    @property
    def spill_mib(self) -> int:
        return round(self._spill_peak / 2**20)

    def __enter__(self) -> DiskPeaks:
        self._total.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._total.stop()


def _run_child(
    code: str,
    env: dict[str, str] | None = None,
    process_tree: bool = False,
    time_limit: float | None = None,
) -> tuple[float, float, str]:
    """Run Python `code` in a child from the project directory; returns its wall seconds,
    its peak RSS in MiB and its stdout. The peak is the child's own (os.wait4: earlier
    children do not count), or with `process_tree` the highest sampled sum over the child
    and every process it started (a JVM, for one), if that is higher. Past `time_limit`
    seconds the child and everything it started are killed. A failing or killed child
    raises ChildFailed."""
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-c", code],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        cwd=project_dir(),
        text=True,
        # Its own process group, so a time limit stops what it started (a JVM) too.
        start_new_session=time_limit is not None,
    )
    sampler = PeakSampler(lambda: process_tree_rss_mib(child.pid)) if process_tree else None
    if sampler:
        sampler.start()
    timed_out = threading.Event()

    def stop() -> None:
        timed_out.set()
        os.killpg(child.pid, signal.SIGKILL)

    timer = threading.Timer(time_limit, stop) if time_limit is not None else None
    if timer:
        timer.start()
    try:
        output = child.stdout.read() if child.stdout else ""
        _, status, usage = os.wait4(child.pid, 0)
    except BaseException:
        if time_limit is not None:
            os.killpg(child.pid, signal.SIGKILL)
        raise
    finally:
        if timer:
            timer.cancel()
    wall = time.perf_counter() - started
    peak_mib = usage.ru_maxrss / 1024
    if sampler:
        sampler.stop()
        peak_mib = max(peak_mib, sampler.peak)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise ChildFailed(child.returncode, code, output, wall, peak_mib, timed_out.is_set())
    return wall, peak_mib, output


def _generate_child(scale: str, seed: int, end: date, out: Path) -> tuple[float, float]:
    """Generate a data set in a child; returns its wall seconds and peak RSS (MiB)."""
    wall, peak_mib, _ = _run_child(
        "import datetime, pathlib\n"
        "from opsmetrics.generate import generate\n"
        f"generate({scale!r}, {seed}, pathlib.Path({str(out)!r}), "
        f"end_date=datetime.date.fromisoformat({end.isoformat()!r}))\n"
    )
    return wall, peak_mib


def bench_generate(
    scale: str = "medium",
    seed: int = 42,
    end_date: date | None = None,
    out: Path | None = None,
    doc: Path | None = None,
) -> dict:
    """Time `generate` at `scale` in a fresh process and record the result in `doc`."""
    end = end_date or datetime.now(UTC).date()
    with tempfile.TemporaryDirectory(prefix="opsmetrics-bench-") as scratch:
        target = out or Path(scratch)
        wall, peak_mib = _generate_child(scale, seed, end, target)
        manifest = json.loads((target / "manifest.json").read_text())
    result = _result(
        "generate",
        scale,
        wall_seconds=round(wall, 1),
        peak_rss_mib=round(peak_mib),
        rows={name: t["rows"] for name, t in manifest["tables"].items()},
    )
    record(result, doc)
    return result


def bench_quality(scale: str = "medium", doc: Path | None = None) -> dict:
    """Time `run_quality` on the warehouse at OPSMETRICS_DUCKDB_PATH (built beforehand at
    `scale`) in a fresh process and record the result in `doc`."""
    from opsmetrics.contract import raw_tables

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
        wall, peak_mib, _ = _run_child(code)
        outcome = json.loads(outcome_file.read_text())
    result = _result(
        "quality",
        scale,
        wall_seconds=round(wall, 1),
        peak_rss_mib=round(peak_mib),
        note=(
            f"Every suite of gx/suites.yml through one GX checkpoint, Data Docs included: "
            f"{outcome['passed']} expectations passed, {outcome['failed']} failed, "
            f"{outcome['errors']} engine errors. Rows are the raw tables validated; the "
            f"staging and mart suites read the tables the build left."
        ),
        rows=rows,
    )
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
        *_rows_table(result["rows"]),
        _machine_line(result),
    ]
    return "\n".join(lines)


def _rows_table(rows: dict[str, int]) -> list[str]:
    return [
        "| table | rows |",
        "|---|---:|",
        *(f"| {name} | {count:,} |" for name, count in rows.items()),
        f"| **total** | {sum(rows.values()):,} |",
        "",
    ]


OPERATIONS_MODELS = ["models/marts/operations", "models/intermediate/operations"]


@dataclass(frozen=True)
class DbtRun:
    """One timed dbt process: wall seconds (Python start and parsing included), dbt's
    own elapsed seconds, peak RSS (MiB) of that process alone, result counts and the
    slowest nodes (name, seconds)."""

    wall_seconds: float
    dbt_seconds: float
    peak_rss_mib: float
    summary: dict[str, int]
    slowest: list[tuple[str, float]]


def _run_dbt_child(
    args: list[str],
    warehouse: Path,
    target: str = "duckdb",
    env: dict[str, str] | None = None,
    process_tree: bool = False,
    time_limit: float | None = None,
) -> DbtRun:
    """Run `dbt <args>` on `target` (DuckDB: the file `warehouse`) in a child process and
    time it; `env` adds variables (the Spark settings). The peak RSS is this child's alone
    (os.wait4: earlier children do not count), or with `process_tree` that of the child
    and what it started (_run_child)."""
    code = (
        "import dataclasses, json\n"
        "from opsmetrics.dbt_invoke import run_dbt, summarise\n"
        f"result = run_dbt({args!r}, target={target!r})\n"
        "times = sorted(((r.node.name, r.execution_time) for r in result.result.results),\n"
        "               key=lambda item: -item[1])\n"
        "print('DBT_RESULT', json.dumps({'elapsed': result.result.elapsed_time,\n"
        "      'summary': dataclasses.asdict(summarise(result)), 'slowest': times[:5]}))\n"
    )
    child_env = {**os.environ, "OPSMETRICS_DUCKDB_PATH": str(warehouse), **(env or {})}
    wall, peak_mib, output = _run_child(code, child_env, process_tree, time_limit)
    outcome = json.loads(re.findall(r"^DBT_RESULT (.+)$", output, re.MULTILINE)[-1])
    return DbtRun(
        wall_seconds=round(wall, 1),
        dbt_seconds=round(outcome["elapsed"], 1),
        peak_rss_mib=round(peak_mib),
        summary=outcome["summary"],
        slowest=[(name, round(seconds, 1)) for name, seconds in outcome["slowest"]],
    )


def split_by_loaded_at(
    source: Path, before: Path, after: Path, cutoff: datetime, unstamped_before: bool = False
) -> None:
    """Copy every table of `source` into `before` (rows loaded before `cutoff`) and
    `after` (the rest: the last day, late rows of earlier days, re-sent copies). Rows
    without `_loaded_at`, which no cutoff places, go to `after` (the harder case for an
    incremental run), or to `before` with `unstamped_before`."""
    for folder in (before, after):
        folder.mkdir(parents=True, exist_ok=True)
    unstamped = " or _loaded_at is null"
    with duckdb.connect() as connection:
        for path in sorted(source.glob("*.parquet")):
            for folder, condition in (
                (before, f"_loaded_at < '{cutoff}'" + (unstamped if unstamped_before else "")),
                (after, f"_loaded_at >= '{cutoff}'" + ("" if unstamped_before else unstamped)),
            ):
                connection.execute(
                    f"copy (select * from read_parquet('{path}') where {condition}) "
                    f"to '{folder / path.name}' (format parquet)"
                )


def bench_operations(
    scale: str = "medium",
    seed: int = 42,
    end_date: date | None = None,
    doc: Path | None = None,
) -> dict:
    """Time the operations marts at `scale` in a scratch warehouse: a `--full-refresh`
    build of the data loaded before the last day, then the incremental run of the same
    models after loading the last day (plus late rows); records both in `doc`.

    Both runs select the operations models only; their staging parents (the validated
    views they read, the seed) are created beforehand, untimed, as a scheduled job finds
    them."""
    from opsmetrics.load import load_duckdb

    end = end_date or datetime.now(UTC).date()
    cutoff = datetime(end.year, end.month, end.day)
    with tempfile.TemporaryDirectory(prefix="opsmetrics-bench-") as scratch:
        root = Path(scratch)
        data, before, after = root / "data", root / "before", root / "after"
        _generate_child(scale, seed, end, data)
        split_by_loaded_at(data, before, after, cutoff)
        warehouse = root / "bench.duckdb"
        with scoped_environment({"OPSMETRICS_DUCKDB_PATH": str(warehouse)}):
            load_duckdb(before)
            _run_dbt_child(["seed", "--select", "slo_targets"], warehouse)
            parents = ["--select", *(f"+{m}" for m in OPERATIONS_MODELS)]
            _run_dbt_child(["run", *parents, "--exclude", *OPERATIONS_MODELS], warehouse)
            full = _run_dbt_child(
                ["run", "--select", *OPERATIONS_MODELS, "--full-refresh"], warehouse
            )
            with duckdb.connect(str(warehouse)) as connection:
                full_rows = connection.execute(
                    "select count(*) from marts.fct_api_requests"
                ).fetchone()[0]
            new_rows = load_duckdb(after)["api_requests"]
            incremental = _run_dbt_child(["run", "--select", *OPERATIONS_MODELS], warehouse)
    result = _result(
        "operations",
        scale,
        full=asdict(full),
        full_requests=full_rows,
        incremental=asdict(incremental),
        incremental_raw_requests=new_rows,
        **_duckdb_settings(),
    )
    record(result, doc)
    return result


def bench_build(
    scale: str = "medium",
    seed: int = 42,
    end_date: date | None = None,
    doc: Path | None = None,
    data: Path | None = None,
) -> dict:
    """Time `dbt build --full-refresh` (every model, seed and test) at `scale`: generate
    (or take the data set in `data`), load into the warehouse at OPSMETRICS_DUCKDB_PATH
    replacing its raw data (untimed), then build as `make demo` does, in a child process.
    The built warehouse is left for `bench quality`."""
    from opsmetrics.dbt_invoke import FULL_BUILD_ARGS
    from opsmetrics.load import load_duckdb

    check_data_set(scale, data)
    end = end_date or datetime.now(UTC).date()
    warehouse = duckdb_path()
    with tempfile.TemporaryDirectory(prefix="opsmetrics-bench-") as scratch:
        if data is None:
            data = Path(scratch) / "data"
            _generate_child(scale, seed, end, data)
        rows = load_duckdb(data, replace=True)
    disk = DiskPeaks(warehouse)
    try:
        with disk:
            build = _run_dbt_child(FULL_BUILD_ARGS, warehouse)
    except ChildFailed as error:
        error.peak_disk_mib, error.peak_spill_mib = disk.total_mib, disk.spill_mib
        raise
    result = _result(
        "build",
        scale,
        build=asdict(build),
        peak_disk_mib=disk.total_mib,
        peak_spill_mib=disk.spill_mib,
        rows=rows,
        **_duckdb_settings(),
    )
    record(result, doc)
    return result


def check_data_set(scale: str, data: Path | None) -> None:
    """Refuse an unknown scale, or a `data` folder that is not a generated data set,
    before anything is generated, loaded or built."""
    from opsmetrics.synth.scales import get_scale

    try:
        get_scale(scale)
    except ValueError as error:
        raise BenchInputError(str(error)) from None
    if data is not None and not (data / "manifest.json").is_file():
        raise BenchInputError(f"{data}: no manifest.json there, so not a generated data set")


def _slowest(run: dict) -> str:
    return ", ".join(f"{name} {seconds} s" for name, seconds in run["slowest"])


def _operations_section(result: dict) -> str:
    full, incremental = result["full"], result["incremental"]
    share = incremental["wall_seconds"] / full["wall_seconds"] * 100
    dbt_share = incremental["dbt_seconds"] / full["dbt_seconds"] * 100
    lines = [
        f"## operations, scale {result['scale']}",
        "",
        f"Run {result['date']}: `dbt run --select {' '.join(OPERATIONS_MODELS)}`, first "
        "with `--full-refresh` on the data loaded before the last day, then incrementally "
        "after loading the last day and the late rows (their staging parents and the seed "
        "were built beforehand, untimed; tests not timed). DuckDB threads "
        f"{result['duckdb_threads']}, memory_limit {result['duckdb_memory_limit']}. Wall "
        "time is the whole dbt process (Python start and project parsing included); dbt "
        "time is dbt's own elapsed time.",
        "",
        "| run | wall time | dbt time | peak RSS (dbt process) | requests |",
        "|---|---:|---:|---:|---:|",
        f"| full refresh | {full['wall_seconds']} s | {full['dbt_seconds']} s | "
        f"{full['peak_rss_mib']} MiB | {result['full_requests']:,} in the fact |",
        f"| incremental, after the last day + late rows | {incremental['wall_seconds']} s | "
        f"{incremental['dbt_seconds']} s | {incremental['peak_rss_mib']} MiB | "
        f"{result['incremental_raw_requests']:,} raw rows loaded |",
        "",
        f"The incremental run takes {dbt_share:.1f} % of the full build's dbt time "
        f"({share:.1f} % of its wall time). Slowest nodes, full: {_slowest(full)}; "
        f"incremental: {_slowest(incremental)}.",
        "",
        _machine_line(result),
    ]
    return "\n".join(lines)


def _build_section(result: dict) -> str:
    build = result["build"]
    counts = build["summary"]
    lines = [
        f"## build, scale {result['scale']}",
        "",
        f"Run {result['date']}: `dbt build --full-refresh` of the whole project (every "
        f"model, seed and test) on freshly loaded data, as `make demo` runs it: "
        f"**{build['wall_seconds']} s** wall time "
        f"({build['dbt_seconds']} s dbt time), **{build['peak_rss_mib']} MiB** peak RSS. "
        f"{counts['passed']} nodes passed, {counts['warned']} warned, "
        f"{counts['failed'] + counts['errored']} failed, {counts['skipped']} skipped. "
        f"DuckDB threads {result['duckdb_threads']}, memory_limit "
        f"{result['duckdb_memory_limit']}. Slowest nodes: "
        f"{_slowest(build)}.",
        "",
        f"Peak disk during the build, sampled every {DISK_INTERVAL:g} s: "
        f"**{result['peak_disk_mib']:,} MiB** (the DuckDB file, its WAL and DuckDB's temp "
        f"directory), of which **{result['peak_spill_mib']:,} MiB** temp spill.",
        "",
        *_rows_table(result["rows"]),
        _machine_line(result),
    ]
    return "\n".join(lines)


LOAD_CHILD = (
    "import json, time, warnings\n"
    "from pathlib import Path\n"
    "from opsmetrics.load import LoadError, LoadWarning, load_duckdb\n"
    "warnings.simplefilter('ignore', LoadWarning)\n"
    "try:\n"
    "    started = time.perf_counter()\n"
    "    inserted = load_duckdb(Path({folder!r}))\n"
    "    print('LOAD_SECONDS', time.perf_counter() - started)\n"
    "    print('LOAD_RESULT', json.dumps(inserted))\n"
    "except LoadError as error:\n"
    "    print('LOAD_ERROR', error)\n"
)
PLAIN_CHILD = (
    "import duckdb\n"
    "with duckdb.connect({warehouse!r}, config={config!r}) as connection:\n"
    "    connection.execute('create schema raw')\n"
    "    for name, path in {files!r}.items():\n"
    "        connection.execute(\n"
    "            f'create table raw.\"{{name}}\" as select * from read_parquet($path)',\n"
    "            {{'path': path}})\n"
)


@dataclass(frozen=True)
class LoadRun:
    """One timed child process: wall seconds, its peak RSS (MiB), rows inserted, and the
    seconds of the load call itself (Python start and imports excluded; None for the
    plain baseline)."""

    wall_seconds: float
    peak_rss_mib: float
    rows: int
    load_seconds: float | None = None


def _load_child(folder: Path, warehouse: Path) -> LoadRun:
    """`load_duckdb(folder)` into `warehouse` in a child process, timed."""
    env = {**os.environ, "OPSMETRICS_DUCKDB_PATH": str(warehouse)}
    wall, peak_mib, output = _run_child(LOAD_CHILD.format(folder=str(folder)), env)
    failure = re.findall(r"^LOAD_ERROR (.+)$", output, re.MULTILINE)
    if failure:
        raise LoadError(failure[-1])
    inserted = json.loads(re.findall(r"^LOAD_RESULT (.+)$", output, re.MULTILINE)[-1])
    seconds = float(re.findall(r"^LOAD_SECONDS (.+)$", output, re.MULTILINE)[-1])
    return LoadRun(round(wall, 1), round(peak_mib), sum(inserted.values()), round(seconds, 1))


def _plain_child(files: dict[str, Path], warehouse: Path) -> LoadRun:
    """The baseline: `create table raw.<t> as select * from read_parquet(…)` of every
    file into `warehouse` in a child process, with the loader's memory limit and spill
    settings, timed."""
    config = {"memory_limit": load_memory_limit(), **duckdb_spill_settings(warehouse)}
    code = PLAIN_CHILD.format(
        warehouse=str(warehouse),
        config=config,
        files={name: str(path) for name, path in files.items()},
    )
    wall, peak_mib, _ = _run_child(code)
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        rows = sum(
            connection.execute(f'select count(*) from raw."{name}"').fetchone()[0] for name in files
        )
    return LoadRun(round(wall, 1), round(peak_mib), rows)


def last_day_delivery(source: dict[str, Path], day: Path, resent: Path) -> datetime:
    """Write the rows of each file loaded on the last day of the delivery to `day`, and
    the same rows once more as different files (another compression) to `resent`, as a
    team re-sending the day would; returns the day's midnight. The last day is the
    calendar day that ends with the latest `_loaded_at` of all files: a latest load at
    midnight sharp (the generator caps `_loaded_at` at the end of its history) closes the
    day before, so the day is a full day's rows, not the few stamped at midnight."""
    with duckdb.connect() as connection:
        connection.execute("set TimeZone = 'UTC'")
        latest = None
        for path in source.values():
            columns = {
                row[0]
                for row in connection.execute(
                    "describe select * from read_parquet($path)", {"path": str(path)}
                ).fetchall()
            }
            if "_loaded_at" not in columns:
                raise LoadError(f"{path}: no _loaded_at column; bench load needs it for its day")
            found = connection.execute(
                "select max(_loaded_at) from read_parquet($path)", {"path": str(path)}
            ).fetchone()[0]
            if found is not None and (latest is None or found > latest):
                latest = found
        if latest is None:
            raise LoadError("the delivery has no rows with a _loaded_at: no last day to load")
        last = latest - timedelta(microseconds=1)
        cutoff = datetime(last.year, last.month, last.day)
        for folder, compression in ((day, "zstd"), (resent, "snappy")):
            folder.mkdir(parents=True, exist_ok=True)
            for name, path in source.items():
                connection.execute(
                    "copy (select * from read_parquet($path) where _loaded_at >= $cutoff "
                    f"order by _loaded_at) to '{folder / name}.parquet' "
                    f"(format parquet, compression {compression})",
                    {"path": str(path), "cutoff": cutoff},
                )
    return cutoff


def bench_load(
    from_dir: Path, scale: str, scratch: Path | None = None, doc: Path | None = None
) -> dict:
    """Time `opsmetrics load` of the delivery in `from_dir` (Parquet files, e.g. a
    generated data set at `scale`) against plain `create table … as select * from
    read_parquet(…)` of the same files, in the same run, each in a child process into
    its own empty warehouse under `scratch` (default: a temporary folder; removed
    afterwards). Then, on the loaded warehouse: reloading the same files, and a one-day
    delivery (the last day's rows) loaded as new rows and re-sent as new files."""
    files = find_files(from_dir)
    not_parquet = [path.name for path in files.values() if path.suffix != ".parquet"]
    if not_parquet:
        raise LoadError(f"{from_dir}: bench load compares Parquet files only, not {not_parquet[0]}")
    with scratch_directory("opsmetrics-bench-load-", scratch) as folder:
        root = Path(folder)
        warehouse = root / "load.duckdb"
        load = _load_child(from_dir, warehouse)
        plain = _plain_child(files, root / "plain.duckdb")
        (root / "plain.duckdb").unlink()
        reload = _load_child(from_dir, warehouse)
        cutoff = last_day_delivery(files, root / "day", root / "resent")
        config = {"memory_limit": load_memory_limit(), **duckdb_spill_settings(warehouse)}
        with duckdb.connect(str(warehouse), config=config) as connection:
            for name in files:
                connection.execute(
                    f'delete from raw."{name}" where _loaded_at >= $cutoff', {"cutoff": cutoff}
                )
        day = _load_child(root / "day", warehouse)
        resent = _load_child(root / "resent", warehouse)
    result = _result(
        "load",
        scale,
        load=asdict(load),
        plain=asdict(plain),
        ratio=round(load.wall_seconds / plain.wall_seconds, 2),
        reload=asdict(reload),
        day=asdict(day),
        resent=asdict(resent),
        cutoff=cutoff.isoformat(sep=" "),
        load_memory_limit=load_memory_limit(),
    )
    record(result, doc)
    return result


def _load_section(result: dict) -> str:
    load, plain, reload = result["load"], result["plain"], result["reload"]
    day, resent = result["day"], result["resent"]

    def row(step: str, run: dict) -> str:
        inside = "" if run.get("load_seconds") is None else f"{run['load_seconds']} s"
        return (
            f"| {step} | {run['rows']:,} | {run['wall_seconds']} s | {inside} | "
            f"{run['peak_rss_mib']} MiB |"
        )

    lines = [
        f"## load, scale {result['scale']}",
        "",
        f"Run {result['date']}, **measured while other jobs ran** on the shared machine: "
        "`opsmetrics bench load`. Each step is a child process (wall time around it, peak "
        "RSS its own, os.wait4), DuckDB memory_limit "
        f"{result['load_memory_limit']} on every connection. The plain baseline is `create "
        "table raw.<t> as select * from read_parquet(…)` of the same files into another "
        "empty warehouse. The day is the rows with `_loaded_at` on or after "
        f"{result['cutoff']}: deleted from the loaded warehouse, then loaded as a new "
        "delivery, then re-sent as different files (same rows, another compression: new "
        "fingerprints, so the key/time-range comparison runs instead of the ledger).",
        "",
        "| step | rows inserted | wall time (child) | load call | peak RSS |",
        "|---|---:|---:|---:|---:|",
        row("`load` into an empty warehouse", load),
        row("plain `create table … as select * from read_parquet(…)`", plain),
        row("reload of the same files (ledger)", reload),
        row("one-day delivery into the loaded warehouse", day),
        row("the same day re-sent as new files", resent),
        "",
        f"load / plain = **{result['ratio']}x** (wall times; target <= 1.5x); one-day "
        f"delivery **{day['wall_seconds']} s** wall, {day['load_seconds']} s in the load "
        "call (target <= 5 s).",
        "",
        _machine_line(result),
    ]
    return "\n".join(lines)


def _machine_line(result: dict) -> str:
    return "Machine: " + "; ".join(f"{k} {v}" for k, v in result["machine"].items()) + ".\n"


# The benchmarks of other modules (forecast, alerts, dashboards) pass their renderer.
SECTIONS = {
    "generate": _section,
    "quality": _section,
    "operations": _operations_section,
    "build": _build_section,
    "load": _load_section,
}


def record(
    result: dict, doc: Path | None = None, render: Callable[[dict], str] | None = None
) -> None:
    """Add or replace the result's section in the benchmarks document (default
    docs/benchmarks.md; rendered by `render`, by default the benchmark's own renderer)."""
    doc = doc or benchmarks_doc()
    text = doc.read_text() if doc.exists() else INTRO
    heading = f"## {result['benchmark']}, scale {result['scale']}"
    pattern = re.compile(rf"^{re.escape(heading)}\n.*?(?=^## |\Z)", re.MULTILINE | re.DOTALL)
    section = (render or SECTIONS[result["benchmark"]])(result).rstrip("\n") + "\n\n"
    if pattern.search(text):
        text = pattern.sub(lambda _: section, text)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text(text.rstrip("\n") + "\n")
