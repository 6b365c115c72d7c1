"""Run dbt in-process (dbtRunner) against this project."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
from dbt.cli.main import dbtRunner, dbtRunnerResult

from opsmetrics import PROJECT_DIR
from opsmetrics.locking import lock_conflict_message, locked_line
from opsmetrics.settings import check_dbt_target, duckdb_path

# dbt commands that never open the warehouse.
OFFLINE_COMMANDS = frozenset({"parse", "deps", "clean", "debug", "list", "ls"})


class DbtError(Exception):
    """A dbt command failed; the message names the failing nodes."""


class WarehouseLockedError(DbtError):
    """Another process holds the DuckDB warehouse; the message is one line naming the
    file, the process and what to do. A DbtError, so callers of run_dbt report it too."""


def build_lock_path(path: Path) -> Path:
    """The lock file a build holds beside the warehouse for its whole run."""
    return path.with_name(f"{path.name}.build.lock")


@contextmanager
def build_lock(path: Path) -> Iterator[None]:
    """Hold the warehouse's build lock (an flock on <warehouse>.build.lock holding our PID)
    for the block; WarehouseLockedError at once if another process holds it. DuckDB's own
    lock is only taken once dbt connects, after parsing: this one covers the whole run."""
    lock_path = build_lock_path(path)
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as error:
            handle.seek(0)
            holder = handle.read().strip()
            who = f"process {holder}" if holder.isdigit() else "another process"
            raise WarehouseLockedError(
                locked_line(str(path), f"{who} (build lock {lock_path})")
            ) from error
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_warehouse_free(path: Path | None = None, read_only: bool = False) -> None:
    """Fail at once with WarehouseLockedError while a build holds the warehouse's build
    lock, or another process holds the file in a way that blocks this use (any holder
    blocks a writer; a writer blocks a reader).

    A missing file is free: whoever opens it first creates it. Any other error is left
    for the command itself to report.
    """
    path = path or duckdb_path()
    if not path.exists():
        return
    if build_lock_path(path).exists():
        with build_lock(path):
            pass
    _probe_duckdb(path, read_only)


def _probe_duckdb(path: Path, read_only: bool) -> None:
    """Open and close the file as this use would; a lock conflict becomes the one line."""
    if not path.exists():
        return
    try:
        duckdb.connect(str(path), read_only=read_only).close()
    except duckdb.Error as error:
        message = lock_conflict_message(error)
        if message:
            raise WarehouseLockedError(message) from error


def run_dbt(args: list[str], target: str = "duckdb") -> dbtRunnerResult:
    """Run `dbt <args>` on `target`; raise DbtError unless it succeeds. On DuckDB a
    command that opens the warehouse holds its build lock for the whole run."""
    check_dbt_target(target)
    warehouse = duckdb_path()  # pins OPSMETRICS_DUCKDB_PATH to an absolute path for dbt
    if target == "duckdb" and args and args[0] not in OFFLINE_COMMANDS:
        release_duckdb()
        with build_lock(warehouse):
            _probe_duckdb(warehouse, read_only=False)
            return _invoke(args, target, warehouse)
    return _invoke(args, target, warehouse)


def _invoke(args: list[str], target: str, warehouse: Path) -> dbtRunnerResult:
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
