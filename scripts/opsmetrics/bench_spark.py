"""`opsmetrics bench build --target spark`: the whole build on a local Spark (dbt-spark's
`session` method) next to DuckDB, from the same data, in the same run.

Each warehouse gets the data set loaded by `opsmetrics load` in a child process (timed
apart), then `dbt build --full-refresh` (every model, seed and test) in another child.
Wall time is measured around each child; peak memory is the highest sampled resident
memory of the child and every process it started, which for Spark is the JVM that
pyspark launches (driver and executors run in it), so the two figures compare whole
engines. A Spark build that fails or passes its time limit is recorded with what was
measured until then and where dbt had got to.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict
from datetime import UTC, date, datetime
from pathlib import Path

from opsmetrics.bench import (
    ChildFailed,
    _generate_child,
    _machine_line,
    _result,
    _rows_table,
    _run_child,
    _run_dbt_child,
    _slowest,
    check_data_set,
    record,
    scratch_directory,
)
from opsmetrics.settings import duckdb_memory_limit, scoped_environment

BENCHMARK = "spark build"
# The settings of the spark profile (profiles.yml) the figures depend on.
SPARK_SETTINGS = ("spark.master", "spark.driver.memory", "spark.sql.shuffle.partitions")
LOAD_CHILD = (
    "import json, pathlib, warnings\n"
    "from opsmetrics.load import LoadWarning\n"
    "from opsmetrics.{module} import {function}\n"
    "warnings.simplefilter('ignore', LoadWarning)\n"
    "print('LOADED', json.dumps({function}(pathlib.Path({data!r}), replace=True)))\n"
)
# dbt's progress lines: "12:00:01  23 of 748 START sql table model marts.x ... [RUN]".
PROGRESS = re.compile(
    r"^\S*\s+(\d+) of (\d+) (START|OK|PASS|WARN|ERROR|FAIL|SKIP)\S* (.+?)\s*\.*\s*\[", re.M
)


def _load(function: str, data: Path, env: dict[str, str]) -> dict:
    """`function(data, replace=True)` (load_duckdb or load_spark) in a child, timed."""
    module = "load_spark" if function == "load_spark" else "load"
    code = LOAD_CHILD.format(module=module, function=function, data=str(data))
    wall, peak_mib, output = _run_child(code, {**os.environ, **env}, process_tree=True)
    rows = json.loads(re.findall(r"^LOADED (.+)$", output, re.MULTILINE)[-1])
    return {"wall_seconds": round(wall, 1), "peak_rss_mib": round(peak_mib), "rows": rows}


def where_dbt_stopped(output: str) -> str:
    """The last node dbt started and its position ("node 323 of 748, sql incremental model
    marts.fct_api_requests"), and dbt's error lines, from its log on stdout."""
    progress = PROGRESS.findall(output)
    started = [entry for entry in progress if entry[2] == "START"]
    place = (
        f"node {started[-1][0]} of {started[-1][1]} started last ({started[-1][3]})"
        if started
        else "before dbt started its first node"
    )
    errors = [
        line.strip()
        for line in output.splitlines()
        if re.search(r"Error in |OutOfMemory|Java heap|Killed", line)
    ]
    return place + (f"; dbt said: {' | '.join(errors[:3])}" if errors else "")


def bench_build_spark(
    scale: str,
    seed: int = 42,
    end_date: date | None = None,
    data: Path | None = None,
    workdir: Path | None = None,
    time_limit: float | None = None,
    doc: Path | None = None,
) -> dict:
    """Load and build the data set (`data`, or one generated at `scale`) on DuckDB and
    on a local Spark, in scratch warehouses under `workdir`; record both in `doc`.
    Spark's build stops after `time_limit` seconds, if given, and is recorded as stopped."""
    from opsmetrics.dbt_invoke import FULL_BUILD_ARGS
    from opsmetrics.load_spark import spark_settings

    check_data_set(scale, data)
    with scratch_directory("opsmetrics-bench-spark-", workdir) as scratch:
        root = Path(scratch)
        if data is None:
            data = root / "data"
            _generate_child(scale, seed, end_date or datetime.now(UTC).date(), data)
        warehouse = root / "bench.duckdb"
        duck_env = {"OPSMETRICS_DUCKDB_PATH": str(warehouse)}
        duck_load = _load("load_duckdb", data, duck_env)
        duck_build = _run_dbt_child(FULL_BUILD_ARGS, warehouse, process_tree=True)
        warehouse.unlink()
        spark_env = {"OPSMETRICS_SPARK_DIR": str(root / "spark")}
        with scoped_environment(spark_env):
            settings = {key: spark_settings()[key] for key in SPARK_SETTINGS}
        spark_load = _load("load_spark", data, spark_env)
        try:
            spark_build = asdict(
                _run_dbt_child(
                    FULL_BUILD_ARGS,
                    warehouse,
                    target="spark",
                    env=spark_env,
                    process_tree=True,
                    time_limit=time_limit,
                )
            )
        except ChildFailed as failure:
            spark_build = {
                "wall_seconds": round(failure.wall_seconds, 1),
                "peak_rss_mib": round(failure.peak_rss_mib),
                "stopped": (
                    f"stopped at the time limit ({time_limit:.0f} s)"
                    if failure.timed_out
                    else f"failed (exit code {failure.returncode})"
                ),
                "where": where_dbt_stopped(failure.output or ""),
            }
    result = _result(
        BENCHMARK,
        scale,
        duckdb={"load": duck_load, "build": asdict(duck_build)},
        spark={"load": spark_load, "build": spark_build},
        rows=duck_load["rows"],
        spark_settings=settings,
        duckdb_memory_limit=duckdb_memory_limit(),
    )
    record(result, doc, render=spark_build_section)
    return result


def spark_build_section(result: dict) -> str:
    """The benchmarks document's section for a `bench build --target spark` result."""
    duck, spark = result["duckdb"], result["spark"]
    duck_build, spark_build = duck["build"], spark["build"]

    def load_row(engine: str, load: dict) -> str:
        return (
            f"| `opsmetrics load` into {engine} | {load['wall_seconds']} s | | "
            f"{load['peak_rss_mib']} MiB |"
        )

    def build_row(engine: str, build: dict) -> str:
        if "stopped" in build:
            return (
                f"| `dbt build --full-refresh` on {engine}: **{build['stopped']}** | "
                f"{build['wall_seconds']} s | | {build['peak_rss_mib']} MiB |"
            )
        counts = build["summary"]
        return (
            f"| `dbt build --full-refresh` on {engine} ({counts['passed']} passed, "
            f"{counts['warned']} warned, {counts['failed'] + counts['errored']} failed) | "
            f"{build['wall_seconds']} s | {build['dbt_seconds']} s | {build['peak_rss_mib']} MiB |"
        )

    settings = ", ".join(f"{key} {value}" for key, value in result["spark_settings"].items())
    if "stopped" in spark_build:
        verdict = f"Spark's build did not complete: {spark_build['where']}."
    else:
        wall = spark_build["wall_seconds"] / duck_build["wall_seconds"]
        memory = spark_build["peak_rss_mib"] / duck_build["peak_rss_mib"]
        verdict = (
            f"Spark ÷ DuckDB: **{wall:.1f}x** the build's wall time, **{memory:.1f}x** its "
            f"peak memory. Slowest nodes, Spark: {_slowest(spark_build)}; DuckDB: "
            f"{_slowest(duck_build)}."
        )
    lines = [
        f"## {BENCHMARK}, scale {result['scale']}",
        "",
        f"Run {result['date']}: `opsmetrics bench build --target spark`. The same data set "
        "loaded and built on DuckDB, then on a local Spark (dbt-spark `session` method, "
        "Parquet tables), one after the other, each step a child process. Peak memory is "
        "the highest sampled resident memory (every 0.25 s, from /proc) of the child and "
        "every process it started: for Spark the Python process and the JVM (driver and "
        f"executors). DuckDB memory_limit {result['duckdb_memory_limit']}, threads 2; "
        f"Spark {settings}.",
        "",
        "| step | wall time | dbt time | peak memory (process tree) |",
        "|---|---:|---:|---:|",
        load_row("DuckDB", duck["load"]),
        build_row("DuckDB", duck_build),
        load_row("Spark", spark["load"]),
        build_row("Spark", spark_build),
        "",
        verdict,
        "",
        *_rows_table(result["rows"]),
        _machine_line(result),
    ]
    return "\n".join(lines)
