"""Everything about "the DuckDB warehouse is held by another process", in one place: the
build lock a dbt run holds beside the warehouse, the check every command makes before it
opens the warehouse (load, dbt runs, the demo, quality, export-metrics, publish, mf), and
the one line each of them prints when it is held."""

from __future__ import annotations

import fcntl
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from opsmetrics.settings import duckdb_path, published_duckdb_path

LOCK_MESSAGE = re.compile(r"Could not set lock on file \"(?P<file>[^\"]+)\"")
HOLDER = re.compile(r"Conflicting lock is held in (?P<program>.+?) \(PID (?P<pid>\d+)\)")


class WarehouseLockedError(Exception):
    """Another process holds the DuckDB warehouse; the message is one line naming the
    file, the process and what to do."""


def _messages(error: BaseException) -> list[str]:
    """The messages of `error` and of the errors it was raised from."""
    messages, seen = [], set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        messages.append(str(current))
        current = current.__cause__ or current.__context__
    return messages


def is_lock_conflict(error: BaseException) -> bool:
    return lock_conflict_message(error) is not None


def locked_line(file: str, who: str) -> str:
    """The one line every command prints when the warehouse `file` is held by `who`."""
    return (
        f"warehouse locked: {file} is locked by {who}: DuckDB allows one writer, and an "
        "open reader blocks it; wait for that process to finish or close it, then run this "
        f"again (readers open the published snapshot {published_duckdb_path()} instead)"
    )


def lock_conflict_message(error: BaseException) -> str | None:
    """One line naming the locked warehouse, who holds it (when DuckDB says) and what to
    do; None when `error` is not a lock conflict."""
    for message in _messages(error):
        if message.startswith("warehouse locked: "):
            return message
        found = LOCK_MESSAGE.search(message)
        if found is None:
            continue
        holder = HOLDER.search(message)
        who = (
            f"{holder.group('program')} (PID {holder.group('pid')})"
            if holder
            else "another process"
        )
        return locked_line(found.group("file"), who)
    return None


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
    probe_warehouse(path, read_only)


def probe_warehouse(path: Path, read_only: bool) -> None:
    """Open and close the file as this use would; a lock conflict becomes the one line."""
    if not path.exists():
        return
    try:
        duckdb.connect(str(path), read_only=read_only).close()
    except duckdb.Error as error:
        message = lock_conflict_message(error)
        if message:
            raise WarehouseLockedError(message) from error
