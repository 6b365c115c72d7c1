"""Run dbt in-process (dbtRunner) against this project."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
from dbt.cli.main import dbtRunner, dbtRunnerResult

from opsmetrics import PROJECT_DIR
from opsmetrics.locking import raise_if_locked
from opsmetrics.settings import check_target, duckdb_path


class DbtError(Exception):
    """A dbt command failed; the message names the failing nodes."""


@dataclass(frozen=True)
class DbtSummary:
    passed: int
    warned: int
    failed: int
    errored: int
    skipped: int


def run_dbt(args: list[str], target: str = "duckdb") -> dbtRunnerResult:
    """Run `dbt <args>` on `target`; raise DbtError unless it succeeds."""
    check_target(target)
    warehouse = duckdb_path()  # pins OPSMETRICS_DUCKDB_PATH to an absolute path for dbt
    if target == "duckdb":
        try:
            raise_if_locked(warehouse)
        except duckdb.Error as error:
            raise DbtError(f"dbt {' '.join(args)} failed: {error}") from error
    full_args = [
        *args,
        "--project-dir",
        str(PROJECT_DIR),
        "--profiles-dir",
        str(PROJECT_DIR),
        "--target",
        target,
    ]
    try:
        result = dbtRunner().invoke(full_args)
    finally:
        release_duckdb()
    if not result.success:
        raise DbtError(f"dbt {' '.join(args)} failed: {describe_failures(result)}")
    return result


def release_duckdb() -> None:
    """Close the DuckDB database dbt-duckdb keeps open between in-process invocations.

    Left open, it holds the warehouse file with dbt's configuration, and any other
    connection in the process (a read-only reader, the quality checkpoint) fails with
    "Can't open a connection to same database file with a different configuration".
    dbt-duckdb has no public call for this; its connection manager opens a new one on
    the next invocation.
    """
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

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
