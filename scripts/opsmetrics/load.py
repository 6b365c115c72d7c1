"""Load a delivery (one Parquet or CSV file per contract table) into the warehouse's raw
schema: all tables in one transaction, so a delivery lands completely or not at all.

Idempotence costs the delivery's size, not the table's: the load ledger
(`raw._load_ledger`) records every file loaded by its SHA-256, so a file loaded before
is skipped without being read; a new file with its own `_loaded_at` is compared (EXCEPT
ALL, which keeps genuine duplicates inside a file for staging to see) only with the rows
already loaded within its `_loaded_at` range. A file without `_loaded_at` gets one stamp,
the load time, recorded in the ledger with it. New rows are appended in `_loaded_at`
order, so the warehouse's per-block min/max lets incremental models skip old blocks.

`replace` builds each new table beside the old one and swaps them at the end of the
transaction; it refuses to empty a table that has rows unless `allow_empty`, and forgets
the replaced tables' prunes (`opsmetrics prune`): the new rows are a whole data set.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb

from opsmetrics.contract import DUCKDB_TYPES, RawTable, raw_tables
from opsmetrics.delivery import (
    LEDGER_TABLE,
    RAW_SCHEMA,
    FileSelect,
    LoadError,
    LoadWarning,
    column_list,
    explain_error,
    find_files,
    fingerprint,
    first_line,
    load_stamp,
    quote_identifier,
    read_file,
    refuse_to_empty,
)
from opsmetrics.locking import is_lock_conflict
from opsmetrics.retention import forget_prunes
from opsmetrics.settings import (
    check_dbt_target,
    duckdb_path,
    duckdb_spill_settings,
    load_memory_limit,
)

__all__ = ["LoadError", "LoadWarning", "load", "load_duckdb"]

LEDGER = f"{RAW_SCHEMA}.{LEDGER_TABLE}"
LEDGER_COLUMNS = (
    "table_name VARCHAR, file_sha256 VARCHAR, file_name VARCHAR, file_rows BIGINT, "
    "inserted_rows BIGINT, loaded_at_stamp TIMESTAMP, loaded_at TIMESTAMP"
)
REPLACEMENT_PREFIX = "_load_replacement_"


def load_duckdb(from_dir: Path, replace: bool = False, allow_empty: bool = False) -> dict[str, int]:
    """Load the delivery in `from_dir` into DuckDB in one transaction; returns the rows
    inserted per contract table (0 for a table without a file or a file loaded before).

    With `replace` the delivery is a new data set: each table with a file is rebuilt from
    it, and swapped in at the end.
    """
    files = find_files(from_dir)
    path = duckdb_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    config = {"memory_limit": load_memory_limit(), **duckdb_spill_settings(path)}
    try:
        with duckdb.connect(str(path), config=config) as connection:
            connection.execute("set TimeZone = 'UTC'")
            connection.execute("begin transaction")
            try:
                inserted = _load_delivery(connection, files, replace, allow_empty)
            except BaseException:
                connection.execute("rollback")
                raise
            connection.execute("commit")
    except duckdb.Error as error:
        if is_lock_conflict(error):
            raise
        raise LoadError(f"{path}: {first_line(error)}") from error
    except OSError as error:
        raise LoadError(f"{error.filename or from_dir}: {error.strerror or error}") from error
    return inserted


def _load_delivery(
    connection: duckdb.DuckDBPyConnection,
    files: dict[str, Path],
    replace: bool,
    allow_empty: bool,
) -> dict[str, int]:
    connection.execute(f"create schema if not exists {RAW_SCHEMA}")
    connection.execute(f"create table if not exists {LEDGER} ({LEDGER_COLUMNS})")
    stamp = load_stamp()
    inserted: dict[str, int] = {}
    replacements: dict[str, str | None] = {}
    for name, table in raw_tables().items():
        _align_table(connection, table)
        existing = _count(connection, _target(name)) if replace else 0
        path = files.get(name)
        if path is None:
            refuse_to_empty(name, existing, f"no file for raw.{name}", allow_empty)
            if replace:
                replacements[name] = None
            inserted[name] = 0
            continue
        sha256 = fingerprint(path)
        if not replace and _in_ledger(connection, name, sha256):
            inserted[name] = 0
            continue
        select = read_file(connection, table, path, stamp)
        if replace:
            replacement = f"{RAW_SCHEMA}.{quote_identifier(REPLACEMENT_PREFIX + name)}"
            order = " order by _loaded_at" if select.has_loaded_at else ""
            _run(connection, select, f"create table {replacement} as {select.sql}{order}")
            rows = _count(connection, replacement)
            if rows == 0:
                refuse_to_empty(name, existing, f"{path} has no rows", allow_empty)
            replacements[name] = replacement
            _forget(connection, name)
            file_rows = rows
        else:
            rows, file_rows = _append(connection, select)
        inserted[name] = rows
        _record(connection, name, sha256, path, file_rows, rows, select, stamp)
    _swap(connection, replacements)
    return inserted


def _target(name: str) -> str:
    return f"{RAW_SCHEMA}.{quote_identifier(name)}"


def _count(connection: duckdb.DuckDBPyConnection, table: str) -> int:
    return connection.execute(f"select count(*) from {table}").fetchone()[0]


def _align_table(connection: duckdb.DuckDBPyConnection, table: RawTable) -> None:
    """Create the raw table, or bring an existing one to the contract's columns and types
    (a table loaded before a contract change, e.g. survey scores from integer to double)."""
    target = _target(table.name)
    columns = ", ".join(
        f"{quote_identifier(c.name)} {DUCKDB_TYPES[c.data_type]}" for c in table.columns
    )
    connection.execute(f"create table if not exists {target} ({columns})")
    present = {
        row[0]: row[1]
        for row in connection.execute(
            "select column_name, data_type from duckdb_columns() "
            "where schema_name = $schema and table_name = $table",
            {"schema": RAW_SCHEMA, "table": table.name},
        ).fetchall()
    }
    for column in table.columns:
        wanted = DUCKDB_TYPES[column.data_type]
        quoted = quote_identifier(column.name)
        if column.name not in present:
            connection.execute(f"alter table {target} add column {quoted} {wanted}")
        elif present[column.name] != wanted:
            connection.execute(f"alter table {target} alter column {quoted} set data type {wanted}")


def _in_ledger(connection: duckdb.DuckDBPyConnection, name: str, sha256: str) -> bool:
    return (
        connection.execute(
            f"select count(*) from {LEDGER} where table_name = $table and file_sha256 = $sha256",
            {"table": name, "sha256": sha256},
        ).fetchone()[0]
        > 0
    )


def _run(
    connection: duckdb.DuckDBPyConnection,
    select: FileSelect,
    statement: str,
    params: dict[str, object] | None = None,
) -> list[tuple]:
    """Run `statement` (which reads `select`'s file); a contract violation in the file
    becomes a one-line LoadError naming where it is."""
    try:
        return connection.execute(statement, {**select.params, **(params or {})}).fetchall()
    except duckdb.Error as error:
        if is_lock_conflict(error):
            raise
        raise explain_error(select, error) from error


def _append(connection: duckdb.DuckDBPyConnection, select: FileSelect) -> tuple[int, int]:
    """Insert the file's rows not already loaded; returns (rows inserted, rows in file)."""
    target = _target(select.table.name)
    columns = column_list(select.table)
    if not select.has_loaded_at:
        # Every row carries this load's own stamp: none can be in the table already.
        rows = _run(connection, select, f"insert into {target} ({columns}) {select.sql}")[0][0]
        return rows, rows
    file_rows, unstamped, earliest, latest = _run(
        connection,
        select,
        "select count(*), count(*) - count(_loaded_at), min(_loaded_at), max(_loaded_at) "
        f"from ({select.sql})",
    )[0]
    if file_rows == 0:
        return 0, 0
    # Rows without _loaded_at (quarantined by staging) can repeat too: compared alike, but
    # only when the file has some. Each scope is its own scan, so the range is pruned by
    # the blocks' min/max; unstamped rows sit in every block of an old table, and an
    # `or` with them would read the whole table for every delivery.
    scopes, bounds = [], {}
    if earliest is not None:
        scopes.append("_loaded_at between $earliest and $latest")
        bounds = {"earliest": earliest, "latest": latest}
    if unstamped:
        scopes.append("_loaded_at is null")
    in_range = " union all ".join(
        f"select {columns} from {target} where {scope}" for scope in scopes
    )
    if connection.execute(f"select count(*) from ({in_range})", bounds).fetchone()[0] == 0:
        # Nothing loaded within the file's range (a new day): no row can repeat one.
        new_rows, params = select.sql, {}
    else:
        new_rows, params = f"{select.sql} except all select * from ({in_range})", bounds
    statement = f"insert into {target} ({columns}) select * from ({new_rows}) order by _loaded_at"
    rows = _run(connection, select, statement, params)[0][0]
    return rows, file_rows


def _record(
    connection: duckdb.DuckDBPyConnection,
    name: str,
    sha256: str,
    path: Path,
    file_rows: int,
    rows: int,
    select: FileSelect,
    stamp: datetime,
) -> None:
    connection.execute(
        f"insert into {LEDGER} values "
        "($table, $sha256, $file_name, $file_rows, $rows, $stamp, $loaded_at)",
        {
            "table": name,
            "sha256": sha256,
            "file_name": path.name,
            "file_rows": file_rows,
            "rows": rows,
            "stamp": None if select.has_loaded_at else stamp,
            "loaded_at": stamp,
        },
    )


def _swap(connection: duckdb.DuckDBPyConnection, replacements: dict[str, str | None]) -> None:
    """The end of a --replace load: each new table takes the old one's place, or the old
    one is emptied where the delivery had no file for it and that was allowed; its
    prunes are forgotten with its old rows."""
    for name, replacement in replacements.items():
        forget_prunes(connection, name)
        target = _target(name)
        if replacement is None:
            connection.execute(f"delete from {target}")
            _forget(connection, name)
        else:
            connection.execute(f"drop table {target}")
            connection.execute(f"alter table {replacement} rename to {quote_identifier(name)}")


def _forget(connection: duckdb.DuckDBPyConnection, name: str) -> None:
    """Drop the ledger entries of a table whose rows are being replaced."""
    connection.execute(f"delete from {LEDGER} where table_name = $table", {"table": name})


def load(
    from_dir: Path, target: str = "duckdb", replace: bool = False, allow_empty: bool = False
) -> dict[str, int]:
    """Load the delivery in `from_dir` into `target`'s raw schema."""
    try:
        check_dbt_target(target)
    except ValueError as error:
        raise LoadError(str(error)) from error
    if target == "duckdb":
        return load_duckdb(from_dir, replace=replace, allow_empty=allow_empty)
    if target == "spark":
        from opsmetrics.load_spark import load_spark

        return load_spark(from_dir, replace=replace, allow_empty=allow_empty)
    from opsmetrics.load_postgres import load_postgres

    return load_postgres(from_dir, replace=replace, allow_empty=allow_empty)
