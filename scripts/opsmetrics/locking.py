"""One place that recognises "the DuckDB warehouse is locked by another process" and
says it in one line, for every command that opens the warehouse (load, dbt runs, the
demo, quality, export-metrics)."""

from __future__ import annotations

import re

from opsmetrics.settings import published_duckdb_path

LOCK_MESSAGE = re.compile(r"Could not set lock on file \"(?P<file>[^\"]+)\"")
HOLDER = re.compile(r"Conflicting lock is held in (?P<program>.+?) \(PID (?P<pid>\d+)\)")


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
