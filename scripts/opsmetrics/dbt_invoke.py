"""Run dbt in-process (dbtRunner) against the project (settings.project_dir()), and the
arguments of the builds the package runs."""

from __future__ import annotations

from dataclasses import dataclass

from dbt.adapters.duckdb.connections import DuckDBConnectionManager
from dbt.cli.main import dbtRunner, dbtRunnerResult

from opsmetrics.locking import (
    WarehouseLockedError,
    build_lock,
    lock_conflict_message,
    probe_warehouse,
)
from opsmetrics.settings import (
    check_dbt_target,
    dbt_environment,
    duckdb_path,
    project_dir,
    scoped_environment,
)

# dbt commands that never open the warehouse.
OFFLINE_COMMANDS = frozenset({"parse", "deps", "clean", "debug", "list", "ls"})
# A build of a new data set (the demo, `bench build`): the raw data was replaced, a new
# history, so the incremental marts must not keep rows of the previous one and every
# model is built from scratch.
FULL_BUILD_ARGS = ["build", "--full-refresh"]
# The scheduled run (`opsmetrics build`, and `bench daily`, which times it) leaves dbt's
# unit tests to development and CI, as dbt's docs recommend: their inputs are fixed rows,
# so a production run would only repeat CI's verdict (docs/decisions.md, Issue 13
# session 9). Data tests still run.
SCHEDULED_RUN_EXCLUDES = ["--exclude-resource-type", "unit_test"]


class DbtError(Exception):
    """A dbt command failed; the message names the failing nodes."""


def run_dbt(args: list[str], target: str = "duckdb") -> dbtRunnerResult:
    """Run `dbt <args>` on `target`; raise DbtError unless it succeeds, and
    WarehouseLockedError (one line) when another process holds the DuckDB warehouse. On
    DuckDB a command that opens the warehouse holds its build lock for the whole run."""
    check_dbt_target(target)
    if target == "duckdb" and args and args[0] not in OFFLINE_COMMANDS:
        warehouse = duckdb_path()
        release_duckdb()
        with build_lock(warehouse):
            probe_warehouse(warehouse, read_only=False)
            return _invoke(args, target)
    return _invoke(args, target)


def _invoke(args: list[str], target: str) -> dbtRunnerResult:
    """dbt on the project's files and profiles.yml; the variables profiles.yml reads are
    set for the invocation only (dbt reads them from the environment)."""
    project = str(project_dir())
    full_args = [*args, "--project-dir", project, "--profiles-dir", project, "--target", target]
    try:
        with scoped_environment(dbt_environment(target)):
            result = dbtRunner().invoke(full_args)
    finally:
        release_duckdb()
    if not result.success:
        message = lock_conflict_message(Exception(describe_failures(result)))
        if message:
            raise WarehouseLockedError(message)
        raise DbtError(f"dbt {' '.join(args)} failed: {describe_failures(result)}")
    return result


@dataclass(frozen=True)
class DbtSummary:
    passed: int
    warned: int
    failed: int
    errored: int
    skipped: int

    @property
    def total(self) -> int:
        return self.passed + self.warned + self.failed + self.errored + self.skipped


def release_duckdb() -> None:
    """Close the DuckDB database dbt-duckdb keeps open between in-process invocations.

    Left open, it holds the warehouse file with dbt's configuration, and any other
    connection in the process (a read-only reader, the quality checkpoint) fails with
    "Can't open a connection to same database file with a different configuration".
    dbt-duckdb has no public call for this; its connection manager opens a new one on
    the next invocation. dbt-duckdb is imported with this module, before any dbt run:
    imported for the first time after an in-process run on Spark, it made DuckDB's
    nanobind bindings print "nanobind: leaked ..." at interpreter exit (docs/decisions.md,
    Issue 15 session 8).
    """
    with DuckDBConnectionManager._LOCK:
        if DuckDBConnectionManager._ENV is not None:
            DuckDBConnectionManager._ENV.close()
            DuckDBConnectionManager._ENV = None


def describe_failures(result: dbtRunnerResult) -> str:
    if result.exception is not None:
        return str(result.exception)
    failures = [
        f"{r.node.name} ({r.status}): {r.message}"
        for r in getattr(result.result, "results", []) or []
        if str(r.status) in ("error", "fail")
    ]
    return "; ".join(failures) or "see logs/dbt.log"


def summarise(result: dbtRunnerResult) -> DbtSummary:
    counts = {"pass": 0, "success": 0, "warn": 0, "fail": 0, "error": 0, "skipped": 0}
    for r in result.result.results:
        status = str(r.status)
        counts[status] = counts.get(status, 0) + 1
    return DbtSummary(
        passed=counts["pass"] + counts["success"],
        warned=counts["warn"],
        failed=counts["fail"],
        errored=counts["error"],
        skipped=counts["skipped"],
    )
