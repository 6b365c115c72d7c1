"""A delivery: the folder of raw files `opsmetrics load` reads, checked against the raw
contract before anything is written. Shared by the DuckDB, PostgreSQL and Spark loaders.

Paths, file names and load stamps reach SQL only as bound parameters; table and column
names (from the contract) only as quoted identifiers. Every problem is a LoadError whose
message is one line naming the file and, where known, the line (CSV) or row (Parquet)
and the column.
"""

from __future__ import annotations

import csv
import hashlib
import re
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from opsmetrics.contract import DUCKDB_TYPES, RawTable, raw_tables
from opsmetrics.locking import is_lock_conflict

RAW_SCHEMA = "raw"
LEDGER_TABLE = "_load_ledger"
FILE_SUFFIXES = (".parquet", ".csv")
# Written by `opsmetrics generate` beside the tables; not a table itself.
KNOWN_EXTRA_FILES = frozenset({"manifest.json"})
INTEGER_FILE_TYPES = frozenset(
    {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT"}
    | {"UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT"}
)
# RFC 4180: comma, double quotes, UTF-8, a header line; no dialect sniffing, so a
# malformed line is reported with its number instead of being read some other way.
CSV_OPTIONS = (
    "header = true, auto_detect = false, delim = ',', quote = '\"', escape = '\"', "
    "strict_mode = true, columns = $columns"
)
CSV_LINE_ERROR = re.compile(r"CSV Error on Line: (\d+)")
ENGINE_ERROR_PREFIX = re.compile(r"^[A-Za-z ]*Error: ")


class LoadError(Exception):
    """The delivery does not meet the raw data contract (one line: file, line/row, column)."""


class LoadWarning(UserWarning):
    """Something in the delivery was ignored or treated as empty; the load goes on."""


def refuse_to_empty(table: str, rows: int, what: str, allow_empty: bool) -> None:
    """Refuse a --replace that would empty `table` while it holds `rows` (counted only
    when replacing, so 0 otherwise), unless `allow_empty`; `what` says why it would."""
    if rows and not allow_empty:
        raise LoadError(
            f"{what}: --replace would empty raw.{table} ({rows:,} rows); add its rows, or "
            "pass --allow-empty to empty it on purpose"
        )


def quote_identifier(name: str) -> str:
    """`name` as a quoted SQL identifier (DuckDB and PostgreSQL)."""
    return '"' + name.replace('"', '""') + '"'


def column_list(table: RawTable) -> str:
    return ", ".join(quote_identifier(c) for c in table.column_names)


def first_line(error: BaseException) -> str:
    """The engine's message without its error-class prefix, first line only."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return ENGINE_ERROR_PREFIX.sub("", lines[0]) if lines else type(error).__name__


def load_stamp() -> datetime:
    """Now, in UTC, as the naive timestamp the contract's `_loaded_at` holds."""
    return datetime.now(UTC).replace(tzinfo=None)


def find_files(from_dir: Path) -> dict[str, Path]:
    """The file of each contract table found in `from_dir`.

    A table without a file is allowed (treated as empty) and named in a LoadWarning, as
    is every file that is not a contract table. A table given as both Parquet and CSV is
    refused: which one is the truth is not the loader's guess.
    """
    if not from_dir.is_dir():
        raise LoadError(f"{from_dir}: not a directory")
    tables = raw_tables()
    found: dict[str, Path] = {}
    for path in sorted(from_dir.iterdir()):
        if path.name.startswith(".") or path.name in KNOWN_EXTRA_FILES:
            continue
        if path.is_file() and path.suffix in FILE_SUFFIXES and path.stem in tables:
            if path.stem in found:
                raise LoadError(
                    f"{from_dir}: both {found[path.stem].name} and {path.name} are given for "
                    f"raw.{path.stem}; keep one of them"
                )
            found[path.stem] = path
        else:
            warnings.warn(
                f"ignored {path}: not a file of the raw contract "
                "(expected <table>.parquet or <table>.csv)",
                LoadWarning,
                stacklevel=2,
            )
    if not found:
        raise LoadError(
            f"{from_dir}: no file for any raw contract table "
            f"(expected <table>.parquet or <table>.csv, tables: {', '.join(tables)})"
        )
    missing = [name for name in tables if name not in found]
    if missing:
        warnings.warn(
            f"no file for {', '.join(missing)} in {from_dir}: treated as empty "
            "(README 'Your own data' lists which marts need which tables)",
            LoadWarning,
            stacklevel=2,
        )
    return found


def fingerprint(path: Path) -> str:
    """SHA-256 of the file's bytes: the load ledger's key."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class FileSelect:
    """A SELECT over one file giving exactly the contract's columns and types."""

    table: RawTable
    path: Path
    sql: str
    params: dict[str, object]
    has_loaded_at: bool


def _csv_header(path: Path) -> list[str]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            header = next(csv.reader(handle), None)
    except UnicodeDecodeError as error:
        raise LoadError(f"{path}, line 1: not UTF-8 text ({error.reason})") from error
    except csv.Error as error:
        raise LoadError(f"{path}, line 1: {error}") from error
    if not header:
        raise LoadError(f"{path}: empty file (a CSV needs a header line with the column names)")
    duplicated = sorted({name for name in header if header.count(name) > 1})
    if duplicated:
        raise LoadError(f"{path}, line 1: column(s) named twice: {', '.join(duplicated)}")
    return header


def _scan(path: Path) -> tuple[str, dict[str, object]]:
    """The table function reading `path`, and its parameters."""
    if path.suffix == ".parquet":
        return "read_parquet($path)", {"path": str(path)}
    columns = dict.fromkeys(_csv_header(path), "VARCHAR")
    return f"read_csv($path, {CSV_OPTIONS})", {"path": str(path), "columns": columns}


def _file_columns(connection: duckdb.DuckDBPyConnection, path: Path) -> dict[str, str]:
    scan, params = _scan(path)
    try:
        rows = connection.execute(f"describe select * from {scan}", params).fetchall()
    except duckdb.Error as error:
        kind = "Parquet" if path.suffix == ".parquet" else "CSV"
        raise LoadError(f"{path}: not a readable {kind} file ({first_line(error)})") from error
    return {row[0]: row[1] for row in rows}


def _cast(column: str, contract_type: str, file_type: str) -> str:
    """Cast one file column to its contract type without losing anything silently: a
    fraction in an integer column is an error, not a rounded value."""
    quoted = quote_identifier(column)
    target = DUCKDB_TYPES[contract_type]
    if contract_type == "timestamp" and file_type == "VARCHAR":
        # Through timestamptz, so a text offset is applied (a plain cast drops it); the
        # loaders' sessions are in UTC.
        return f"cast(cast({quoted} as TIMESTAMPTZ) as {target})"
    if contract_type == "integer" and file_type not in INTEGER_FILE_TYPES:
        return (
            f"case when cast({quoted} as DOUBLE) <> trunc(cast({quoted} as DOUBLE)) "
            f"then error('fraction in integer column ' || $column_{column}) "
            f"else cast({quoted} as {target}) end"
        )
    return f"cast({quoted} as {target})"


def contract_select(
    connection: duckdb.DuckDBPyConnection, table: RawTable, path: Path, stamp: datetime
) -> FileSelect:
    """The SELECT reading `path` as `table` of the contract; `stamp` is the `_loaded_at`
    of every row when the file has no `_loaded_at` column."""
    file_columns = _file_columns(connection, path)
    missing = [c for c in table.column_names if c not in file_columns and c != "_loaded_at"]
    if missing:
        raise LoadError(f"{path}: lacks contract column(s): {', '.join(missing)}")
    extra = [c for c in file_columns if c not in table.column_names]
    if extra:
        warnings.warn(
            f"{path}: ignored column(s) not in the contract of raw.{table.name}: "
            f"{', '.join(extra)}",
            LoadWarning,
            stacklevel=2,
        )
    scan, params = _scan(path)
    has_loaded_at = "_loaded_at" in file_columns
    expressions = []
    for column in table.columns:
        if column.name == "_loaded_at" and not has_loaded_at:
            expression = "cast($stamp as TIMESTAMP)"
            params["stamp"] = stamp
        else:
            expression = _cast(column.name, column.data_type, file_columns[column.name])
            if "$column_" in expression:
                params[f"column_{column.name}"] = column.name
        expressions.append(f"{expression} as {quote_identifier(column.name)}")
    sql = f"select {', '.join(expressions)} from {scan}"
    return FileSelect(table, path, sql, params, has_loaded_at)


def read_file(
    connection: duckdb.DuckDBPyConnection, table: RawTable, path: Path, stamp: datetime
) -> FileSelect:
    """`contract_select` for every loader: an engine error reading `path` becomes a
    one-line LoadError naming it (a lock conflict on the warehouse is raised as it is)."""
    try:
        return contract_select(connection, table, path, stamp)
    except duckdb.Error as error:
        if is_lock_conflict(error):
            raise
        raise LoadError(f"{path}: {first_line(error)}") from error


def explain_error(select: FileSelect, error: duckdb.Error) -> LoadError:
    """A one-line LoadError for an engine error met while reading `select`'s file: the
    line (CSV) or row (Parquet) and column of the first value that breaks the contract."""
    message = str(error)
    line = CSV_LINE_ERROR.search(message)
    if line:
        return LoadError(f"{select.path}, line {line.group(1)}: {_csv_reason(message)}")
    with duckdb.connect() as connection:
        # One thread: a CSV is then scanned in file order and the first bad value found
        # is the first in the file.
        connection.execute("set threads = 1")
        found = _first_bad_value(connection, select)
    if found is None:
        return LoadError(f"{select.path}: {first_line(error)}")
    position, column, value, expected = found
    return LoadError(f"{select.path}, {position}, column {column}: {value!r} is not {expected}")


def _csv_reason(message: str) -> str:
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    for index, text in enumerate(lines):
        if text.startswith("Original Line:") and index + 1 < len(lines):
            return lines[index + 1]
    return first_line(Exception(message))


def _first_bad_value(
    connection: duckdb.DuckDBPyConnection, select: FileSelect
) -> tuple[str, str, str, str] | None:
    """(position, column, value, what it should be) of the first value in the file that
    cannot be cast to its contract type, or None."""
    file_columns = _file_columns(connection, select.path)
    scan, params = _scan(select.path)
    is_parquet = select.path.suffix == ".parquet"
    row_number = "file_row_number" if is_parquet else "0"
    if is_parquet:
        scan = scan.replace("read_parquet($path)", "read_parquet($path, file_row_number = true)")
    for column in select.table.columns:
        if column.name not in file_columns or column.data_type == "varchar":
            continue
        quoted = quote_identifier(column.name)
        target = DUCKDB_TYPES[column.data_type]
        broken = f"try_cast({quoted} as {target}) is null"
        expected = f"a valid {column.data_type}"
        if column.data_type == "integer" and file_columns[column.name] not in INTEGER_FILE_TYPES:
            as_double = f"try_cast({quoted} as DOUBLE)"
            broken = f"({broken} or {as_double} <> trunc({as_double}))"
            expected = "a whole number (contract type integer)"
        found = connection.execute(
            f"select {row_number}, cast({quoted} as VARCHAR) from {scan} "
            f"where {quoted} is not null and {broken} order by 1 limit 1",
            params,
        ).fetchone()
        if found is None:
            continue
        if is_parquet:
            position = f"row {found[0] + 1}"
        else:
            position = f"line {_csv_line_of(select.path, column.name, found[1])}"
        return position, column.name, found[1], expected
    return None


def _csv_line_of(path: Path, column: str, value: str) -> int | str:
    """The line where the first record holding `value` in `column` starts."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None:
            return "?"
        start = reader.line_num + 1
        for record in reader:
            if record.get(column) == value:
                return start
            start = reader.line_num + 1
    return "?"
