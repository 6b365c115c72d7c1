"""Load a delivery into PostgreSQL's raw schema: the same contract, ledger and atomicity
as the DuckDB loader.

DuckDB reads each file and casts it to the contract (delivery.contract_select); the rows
stream in Arrow batches, as CSV, through COPY into a temp table. Only when every file has
been read and checked are the raw tables changed: appended to (EXCEPT ALL against the
rows already loaded within the file's `_loaded_at` range, so duplicates inside a file
survive for staging to see) or, with `replace`, truncated and refilled. The whole load is
one transaction: it lands completely or not at all.
"""

from __future__ import annotations

import io
from pathlib import Path

import duckdb
import psycopg2
import pyarrow.csv as pa_csv
from psycopg2 import sql

from opsmetrics.contract import POSTGRES_TYPES, RawTable, raw_tables
from opsmetrics.delivery import (
    LEDGER_TABLE,
    RAW_SCHEMA,
    FileSelect,
    LoadError,
    explain_error,
    find_files,
    fingerprint,
    first_line,
    load_stamp,
    read_file,
    refuse_to_empty,
)
from opsmetrics.settings import postgres_params

BATCH_ROWS = 100_000
# Nulls unquoted, every value quoted: COPY then tells a null from an empty string.
CSV_OPTIONS = pa_csv.WriteOptions(include_header=False, quoting_style="all_valid")
LEDGER = sql.Identifier(RAW_SCHEMA, LEDGER_TABLE)
LEDGER_COLUMNS = sql.SQL(
    "table_name text, file_sha256 text, file_name text, file_rows bigint, "
    "inserted_rows bigint, loaded_at_stamp timestamp, loaded_at timestamp"
)


def load_postgres(
    from_dir: Path, replace: bool = False, allow_empty: bool = False
) -> dict[str, int]:
    """Load the delivery in `from_dir` into PostgreSQL in one transaction; returns the
    rows inserted per contract table.

    With `replace` the delivery is a new data set: each table with a file is truncated
    (not dropped, so views and grants on it survive) and refilled, after every file has
    been read and checked.
    """
    files = find_files(from_dir)
    params = postgres_params()
    try:
        connection = psycopg2.connect(**params)
    except psycopg2.Error as error:
        raise LoadError(
            f"cannot connect to PostgreSQL at {params['host']}:{params['port']}: "
            f"{first_line(error)}"
        ) from error
    try:
        with duckdb.connect() as reader, connection, connection.cursor() as cursor:
            reader.execute("set TimeZone = 'UTC'")
            return _load_delivery(reader, cursor, files, replace, allow_empty)
    except psycopg2.Error as error:
        raise LoadError(f"PostgreSQL: {first_line(error)}") from error
    except OSError as error:
        raise LoadError(f"{error.filename or from_dir}: {error.strerror or error}") from error
    finally:
        connection.close()


def _load_delivery(
    reader: duckdb.DuckDBPyConnection,
    cursor: psycopg2.extensions.cursor,
    files: dict[str, Path],
    replace: bool,
    allow_empty: bool,
) -> dict[str, int]:
    cursor.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(RAW_SCHEMA)))
    cursor.execute(sql.SQL("create table if not exists {} ({})").format(LEDGER, LEDGER_COLUMNS))
    stamp = load_stamp()
    inserted = dict.fromkeys(raw_tables(), 0)
    staged: list[tuple[FileSelect, str, int]] = []
    emptied: list[str] = []
    # Read and check every file first; the raw tables change only after that.
    for name, table in raw_tables().items():
        _align_table(cursor, table)
        existing = _count(cursor, name) if replace else 0
        path = files.get(name)
        if path is None:
            refuse_to_empty(name, existing, f"no file for raw.{name}", allow_empty)
            if existing:
                emptied.append(name)
            continue
        sha256 = fingerprint(path)
        if not replace and _in_ledger(cursor, name, sha256):
            continue
        select = read_file(reader, table, path, stamp)
        rows = _copy_to_staging(reader, cursor, select)
        if rows == 0:
            refuse_to_empty(name, existing, f"{path} has no rows", allow_empty)
        staged.append((select, sha256, rows))
    for name in emptied:
        cursor.execute(sql.SQL("truncate table {}").format(sql.Identifier(RAW_SCHEMA, name)))
        _forget(cursor, name)
    for select, sha256, file_rows in staged:
        name = select.table.name
        if replace:
            cursor.execute(sql.SQL("truncate table {}").format(sql.Identifier(RAW_SCHEMA, name)))
            _forget(cursor, name)
        inserted[name] = _apply(cursor, select, replace)
        cursor.execute(
            sql.SQL("insert into {} values (%s, %s, %s, %s, %s, %s, %s)").format(LEDGER),
            (
                name,
                sha256,
                select.path.name,
                file_rows,
                inserted[name],
                None if select.has_loaded_at else stamp,
                stamp,
            ),
        )
        # Fresh statistics now, not whenever autovacuum gets to it: dbt reads these next.
        cursor.execute(sql.SQL("analyze {}").format(sql.Identifier(RAW_SCHEMA, name)))
    return inserted


def _count(cursor: psycopg2.extensions.cursor, name: str) -> int:
    cursor.execute(sql.SQL("select count(*) from {}").format(sql.Identifier(RAW_SCHEMA, name)))
    return cursor.fetchone()[0]


def _align_table(cursor: psycopg2.extensions.cursor, table: RawTable) -> None:
    """Create the raw table, or bring an existing one to the contract's columns and types."""
    target = sql.Identifier(RAW_SCHEMA, table.name)
    columns = sql.SQL(", ").join(
        sql.SQL("{} {}").format(sql.Identifier(c.name), sql.SQL(POSTGRES_TYPES[c.data_type]))
        for c in table.columns
    )
    cursor.execute(sql.SQL("create table if not exists {} ({})").format(target, columns))
    cursor.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = %s and table_name = %s",
        (RAW_SCHEMA, table.name),
    )
    present = dict(cursor.fetchall())
    # Raw rows arrive in _loaded_at order: a BRIN index lets the idempotence check read
    # only the blocks within a delivery's _loaded_at range.
    cursor.execute(
        sql.SQL("create index if not exists {} on {} using brin (_loaded_at)").format(
            sql.Identifier(f"{table.name}__loaded_at_brin"), target
        )
    )
    for column in table.columns:
        wanted = POSTGRES_TYPES[column.data_type]
        if column.name not in present:
            cursor.execute(
                sql.SQL("alter table {} add column {} {}").format(
                    target, sql.Identifier(column.name), sql.SQL(wanted)
                )
            )
        elif present[column.name] != wanted:
            cursor.execute(
                sql.SQL("alter table {} alter column {} type {}").format(
                    target, sql.Identifier(column.name), sql.SQL(wanted)
                )
            )


def _in_ledger(cursor: psycopg2.extensions.cursor, name: str, sha256: str) -> bool:
    cursor.execute(
        sql.SQL("select count(*) from {} where table_name = %s and file_sha256 = %s").format(
            LEDGER
        ),
        (name, sha256),
    )
    return cursor.fetchone()[0] > 0


def _forget(cursor: psycopg2.extensions.cursor, name: str) -> None:
    cursor.execute(sql.SQL("delete from {} where table_name = %s").format(LEDGER), (name,))


def _staging(name: str) -> sql.Identifier:
    return sql.Identifier(f"load_{name}")


def _copy_to_staging(
    reader: duckdb.DuckDBPyConnection, cursor: psycopg2.extensions.cursor, select: FileSelect
) -> int:
    """COPY the file's rows, cast to the contract by DuckDB, into a temp table; returns
    how many there were."""
    staging = _staging(select.table.name)
    target = sql.Identifier(RAW_SCHEMA, select.table.name)
    columns = sql.SQL(", ").join(sql.Identifier(c) for c in select.table.column_names)
    cursor.execute(
        sql.SQL("create temp table {} on commit drop as select {} from {} with no data").format(
            staging, columns, target
        )
    )
    copy = sql.SQL("copy {} from stdin with (format csv)").format(staging).as_string(cursor)
    try:
        batches = reader.sql(select.sql, params=select.params).to_arrow_reader(BATCH_ROWS)
        for batch in batches:
            buffer = io.BytesIO()
            pa_csv.write_csv(batch, buffer, CSV_OPTIONS)
            buffer.seek(0)
            cursor.copy_expert(copy, buffer)
    except duckdb.Error as error:
        raise explain_error(select, error) from error
    cursor.execute(sql.SQL("select count(*) from {}").format(staging))
    return cursor.fetchone()[0]


def _overlaps(
    cursor: psycopg2.extensions.cursor, target: sql.Identifier, staging: sql.Identifier
) -> bool:
    """Whether the raw table holds rows within the staged rows' _loaded_at range."""
    cursor.execute(
        sql.SQL(
            "select exists (select 1 from {target} where _loaded_at between"
            " (select min(_loaded_at) from {staging}) and (select max(_loaded_at) from {staging})"
            " or _loaded_at is null)"
        ).format(target=target, staging=staging)
    )
    return cursor.fetchone()[0]


def _apply(cursor: psycopg2.extensions.cursor, select: FileSelect, replace: bool) -> int:
    """Move the staged rows into the raw table; returns the rows inserted."""
    target = sql.Identifier(RAW_SCHEMA, select.table.name)
    staging = _staging(select.table.name)
    columns = sql.SQL(", ").join(sql.Identifier(c) for c in select.table.column_names)
    if replace or not select.has_loaded_at or not _overlaps(cursor, target, staging):
        # Replacing, every row carries this load's own stamp, or nothing was loaded within
        # the file's _loaded_at range: no row can repeat one already there.
        statement = "insert into {target} ({columns}) select {columns} from {staging}"
    else:
        statement = (
            "insert into {target} ({columns}) select * from ("
            " select {columns} from {staging}"
            " except all"
            " select {columns} from {target} where _loaded_at between"
            "  (select min(_loaded_at) from {staging}) and (select max(_loaded_at) from {staging})"
            "  or _loaded_at is null"
            ") as new_rows"
        )
    order = " order by _loaded_at" if select.has_loaded_at else ""
    cursor.execute(
        sql.SQL(statement + order).format(target=target, staging=staging, columns=columns)
    )
    return cursor.rowcount
