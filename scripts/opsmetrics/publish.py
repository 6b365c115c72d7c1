"""`opsmetrics publish`: the read-only snapshot BI tools and dashboards open.

A DuckDB file has one writer, and an open reader blocks it: a BI tool holding the
warehouse would make the next `dbt build` fail. So readers never open the warehouse. After
a successful build and quality run, the schemas they read (marts, metrics and, when they
exist, alerts and forecasts) are copied into a separate file, written under a temporary
name beside it and renamed over the previous snapshot in one step (os.replace): a reader
sees the previous complete snapshot or the new one, never half of one. The snapshot is
written in DuckDB's v1.4.0 storage format, which DuckDB 1.x readers (what BI drivers
bundle) can open.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from opsmetrics.locking import WarehouseLockedError, lock_conflict_message
from opsmetrics.settings import (
    duckdb_memory_limit,
    duckdb_path,
    project_dir,
    published_duckdb_path,
    quality_result_path,
)

PUBLISHED_SCHEMAS = ("marts", "metrics", "alerts", "forecasts")
REQUIRED_SCHEMAS = ("marts", "metrics")
STORAGE_VERSION = "v1.4.0"
METADATA_SCHEMA = "published"
METADATA_TABLE = f"{METADATA_SCHEMA}.snapshot_metadata"
# dbt node statuses that mean the build did not succeed (a warning does not block).
FAILED_STATUSES = frozenset({"error", "fail", "runtime error"})


class PublishRefusedError(Exception):
    """The last build or quality run failed (or is missing): nothing is published and the
    previous snapshot stays. The message says why in one line."""


@dataclass(frozen=True)
class BuildRecord:
    """The dbt build a snapshot is published from (target/run_results.json)."""

    invocation_id: str
    finished_at: datetime


@dataclass(frozen=True)
class Snapshot:
    """A published snapshot: where it is, its tables with row counts, its metadata."""

    path: Path
    tables: dict[str, int]
    built_at: datetime
    data_as_of: datetime | None
    git_commit: str
    dbt_invocation_id: str
    source_warehouse: str


def _read_json(path: Path, what: str) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError as error:
        raise PublishRefusedError(f"no {what} ({path}): run it first") from error
    except (OSError, ValueError) as error:
        raise PublishRefusedError(f"cannot read {what} ({path}): {error}") from error


def _timestamp(value: str) -> datetime:
    stamp = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)


def last_build(run_results: Path | None = None) -> BuildRecord:
    """The last `dbt build`, from its run results; refuses unless it succeeded."""
    run_results = run_results or project_dir() / "target" / "run_results.json"
    results = _read_json(run_results, "dbt build results")
    try:
        command = results["args"]["which"]
        metadata = results["metadata"]
        nodes = results["results"]
    except (KeyError, TypeError) as error:
        raise PublishRefusedError(f"{run_results} is not dbt run results") from error
    if command != "build":
        raise PublishRefusedError(
            f"the last dbt command in {run_results} was `dbt {command}`, not a build: "
            "run `dbt build` (then `opsmetrics quality`) first"
        )
    failed = [
        node.get("unique_id", "?").split(".")[-1]
        for node in nodes
        if str(node.get("status")) in FAILED_STATUSES
    ]
    if failed:
        shown = ", ".join(failed[:5]) + (f" and {len(failed) - 5} more" if len(failed) > 5 else "")
        raise PublishRefusedError(
            f"the last dbt build failed ({len(failed)} node(s): {shown}); fix it and build again"
        )
    return BuildRecord(
        invocation_id=str(metadata.get("invocation_id", "")),
        finished_at=_timestamp(metadata["generated_at"]),
    )


def check_quality(build: BuildRecord, warehouse: Path, quality_result: Path | None = None) -> None:
    """Refuse unless a quality run passed on this warehouse after `build` finished.

    Every expectation blocks: a failed expectation or an engine error means the marts are
    not fit to publish (docs/decisions.md, Issue 19).
    """
    quality_result = quality_result or quality_result_path()
    quality = _read_json(quality_result, "quality result of `opsmetrics quality`")
    try:
        status = quality["status"]
        finished_at = _timestamp(quality["finished_at"])
    except (KeyError, TypeError, ValueError) as error:
        raise PublishRefusedError(f"{quality_result} is not a quality result") from error
    if finished_at < build.finished_at:
        raise PublishRefusedError(
            "the quality checks have not run since the last dbt build: run `opsmetrics quality`"
        )
    if quality.get("warehouse") != str(warehouse):
        raise PublishRefusedError(
            f"the last quality run checked {quality.get('warehouse')}, not {warehouse}: "
            "run `opsmetrics quality` on it"
        )
    if status != "passed":
        raise PublishRefusedError(
            f"the last quality run {status} ({quality.get('failed', '?')} failed, "
            f"{quality.get('errors', '?')} engine errors): fix it and run "
            "`opsmetrics quality` again"
        )


def git_commit(project: Path | None = None) -> str:
    """The project's commit (with `-dirty` when the work tree has changes), or 'unknown'."""
    try:
        described = subprocess.run(
            ["git", "describe", "--always", "--dirty", "--abbrev=40"],
            cwd=project or project_dir(),
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return described.stdout.strip() or "unknown"


def _quoted(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _source_tables(connection: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    rows = connection.execute(
        "select table_schema, table_name from information_schema.tables "
        "where table_catalog = 'source' and table_schema in "
        f"({', '.join(repr(s) for s in PUBLISHED_SCHEMAS)}) "
        "order by table_schema, table_name"
    ).fetchall()
    tables: dict[str, list[str]] = {}
    for schema, table in rows:
        tables.setdefault(schema, []).append(table)
    return tables


def _data_as_of(connection: duckdb.DuckDBPyConnection) -> datetime | None:
    """The newest raw delivery the build read: the latest `_loaded_at` in staging."""
    tables = connection.execute(
        "select table_name from information_schema.columns where table_catalog = 'source' "
        "and table_schema = 'staging' and column_name = '_loaded_at' order by table_name"
    ).fetchall()
    if not tables:
        return None
    union = " union all ".join(
        f'select max(_loaded_at) as loaded_at from source.staging."{name}"' for (name,) in tables
    )
    value = connection.execute(f"select max(loaded_at) from ({union})").fetchone()[0]
    return value if isinstance(value, datetime) else None


def _copy(connection: duckdb.DuckDBPyConnection, tables: dict[str, list[str]]) -> dict[str, int]:
    counts = {}
    for schema, names in tables.items():
        connection.execute(f'create schema snapshot."{schema}"')
        for name in names:
            connection.execute(
                f'create table snapshot."{schema}"."{name}" as '
                f'select * from source."{schema}"."{name}"'
            )
            counts[f"{schema}.{name}"] = connection.execute(
                f'select count(*) from snapshot."{schema}"."{name}"'
            ).fetchone()[0]
    return counts


def _write_metadata(connection: duckdb.DuckDBPyConnection, snapshot: Snapshot) -> None:
    connection.execute(f"create schema snapshot.{METADATA_SCHEMA}")
    connection.execute(
        f"create table snapshot.{METADATA_TABLE} ("
        "built_at timestamp, data_as_of timestamp, git_commit varchar, "
        "dbt_invocation_id varchar, source_warehouse varchar, storage_version varchar, "
        "table_count integer)"
    )
    connection.execute(
        f"insert into snapshot.{METADATA_TABLE} values (?, ?, ?, ?, ?, ?, ?)",
        [
            snapshot.built_at.replace(tzinfo=None),
            snapshot.data_as_of,
            snapshot.git_commit,
            snapshot.dbt_invocation_id,
            snapshot.source_warehouse,
            STORAGE_VERSION,
            len(snapshot.tables),
        ],
    )


def write_snapshot(warehouse: Path, out: Path, invocation_id: str) -> Snapshot:
    """Copy the published schemas of `warehouse` into a new file and swap it in at `out`.

    Nothing at `out` changes unless the whole snapshot was written: it is built at a
    temporary name in the same folder (same file system, so the rename is atomic).
    """
    if not warehouse.exists():
        raise PublishRefusedError(f"no warehouse at {warehouse}: run `dbt build` first")
    out.parent.mkdir(parents=True, exist_ok=True)
    temporary = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    temporary.unlink(missing_ok=True)
    try:
        settings = {"memory_limit": duckdb_memory_limit(), "preserve_insertion_order": False}
        with duckdb.connect(":memory:", config=settings) as connection:
            try:
                connection.execute(f"attach {_quoted(warehouse)} as source (read_only)")
            except duckdb.Error as error:
                message = lock_conflict_message(error)
                if message:
                    raise WarehouseLockedError(message) from error
                raise PublishRefusedError(
                    f"cannot open {warehouse}: {str(error).splitlines()[0]}"
                ) from error
            tables = _source_tables(connection)
            missing = [schema for schema in REQUIRED_SCHEMAS if schema not in tables]
            if missing:
                hint = " (run `opsmetrics export-metrics`)" if "metrics" in missing else ""
                raise PublishRefusedError(
                    f"{warehouse} has no {' or '.join(missing)} tables{hint}: nothing published"
                )
            connection.execute(
                f"attach {_quoted(temporary)} as snapshot (storage_version '{STORAGE_VERSION}')"
            )
            snapshot = Snapshot(
                path=out,
                tables=_copy(connection, tables),
                built_at=datetime.now(UTC),
                data_as_of=_data_as_of(connection),
                git_commit=git_commit(),
                dbt_invocation_id=invocation_id,
                source_warehouse=str(warehouse),
            )
            _write_metadata(connection, snapshot)
            connection.execute("detach snapshot")  # checkpoints: no WAL left beside it
            connection.execute("detach source")
        os.replace(temporary, out)
    finally:
        temporary.unlink(missing_ok=True)
        Path(f"{temporary}.wal").unlink(missing_ok=True)
    return snapshot


def publish(
    warehouse: Path | None = None,
    out: Path | None = None,
    run_results: Path | None = None,
    quality_result: Path | None = None,
) -> Snapshot:
    """Publish the warehouse's marts, metrics, alerts and forecasts as a read-only
    snapshot, unless the last dbt build or quality run failed (PublishRefusedError)."""
    warehouse = warehouse or duckdb_path()
    build = last_build(run_results)
    check_quality(build, warehouse, quality_result)
    return write_snapshot(warehouse, out or published_duckdb_path(), build.invocation_id)
