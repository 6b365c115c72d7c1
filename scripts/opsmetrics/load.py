"""Load raw files (Parquet or CSV, one per contract table) into the warehouse's raw schema.

Loading is idempotent: rows already present are not inserted again (EXCEPT ALL keeps
genuine duplicates inside a file, which staging must see and remove). New rows are
appended in `_loaded_at` order, as a landing table fed delivery by delivery holds them
even when one file carries a whole history: the warehouse's per-block min/max then lets
the incremental operations marts skip the blocks loaded before their cutoff.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from opsmetrics.contract import DUCKDB_TYPES, RawTable, raw_tables
from opsmetrics.settings import check_target, duckdb_path

RAW_SCHEMA = "raw"
FILE_SUFFIXES = (".parquet", ".csv")


class LoadError(Exception):
    """The files do not meet the raw data contract."""


def find_files(from_dir: Path) -> dict[str, Path]:
    """The file for every contract table, or a LoadError naming what is missing."""
    if not from_dir.is_dir():
        raise LoadError(f"{from_dir} is not a directory")
    found, missing = {}, []
    for name in raw_tables():
        candidates = [from_dir / f"{name}{suffix}" for suffix in FILE_SUFFIXES]
        existing = [path for path in candidates if path.exists()]
        if existing:
            found[name] = existing[0]
        else:
            missing.append(name)
    if missing:
        raise LoadError(
            f"{from_dir} lacks a file for: {', '.join(missing)} "
            f"(expected <table>.parquet or <table>.csv)"
        )
    return found


def file_scan(path: Path) -> str:
    if path.suffix == ".parquet":
        return f"read_parquet('{path}')"
    return f"read_csv('{path}', header = true, all_varchar = true)"


def contract_select(connection: duckdb.DuckDBPyConnection, table: RawTable, path: Path) -> str:
    """A SELECT over the file giving exactly the contract's columns and types."""
    present = {
        row[0] for row in connection.execute(f"describe select * from {file_scan(path)}").fetchall()
    }
    missing = [c for c in table.column_names if c not in present and c != "_loaded_at"]
    if missing:
        raise LoadError(f"{path.name} lacks contract column(s): {', '.join(missing)}")
    expressions = []
    for column in table.columns:
        if column.name == "_loaded_at" and column.name not in present:
            expression = "current_timestamp"
        else:
            expression = f'"{column.name}"'
        expressions.append(
            f'cast({expression} as {DUCKDB_TYPES[column.data_type]}) as "{column.name}"'
        )
    return f"select {', '.join(expressions)} from {file_scan(path)}"


def load_duckdb(from_dir: Path, replace: bool = False) -> dict[str, int]:
    """Load every table into DuckDB; returns the rows inserted per table.

    With `replace`, the raw tables are emptied first (a new data set, not a delivery).
    """
    files = find_files(from_dir)
    path = duckdb_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    inserted: dict[str, int] = {}
    with duckdb.connect(str(path)) as connection:
        connection.execute(f"create schema if not exists {RAW_SCHEMA}")
        for name, table in raw_tables().items():
            if replace:
                connection.execute(f"drop table if exists {RAW_SCHEMA}.{name}")
            select = contract_select(connection, table, files[name])
            columns = ", ".join(f'"{c.name}" {DUCKDB_TYPES[c.data_type]}' for c in table.columns)
            target = f"{RAW_SCHEMA}.{name}"
            connection.execute(f"create table if not exists {target} ({columns})")
            before = connection.execute(f"select count(*) from {target}").fetchone()[0]
            connection.execute(
                f"insert into {target} select * from "
                f"({select} except all select * from {target}) order by _loaded_at"
            )
            after = connection.execute(f"select count(*) from {target}").fetchone()[0]
            inserted[name] = after - before
    return inserted


def load(from_dir: Path, target: str = "duckdb", replace: bool = False) -> dict[str, int]:
    """Load every contract table from `from_dir` into `target`'s raw schema."""
    if check_target(target) == "duckdb":
        return load_duckdb(from_dir, replace=replace)
    from opsmetrics.load_postgres import load_postgres

    return load_postgres(from_dir, replace=replace)
