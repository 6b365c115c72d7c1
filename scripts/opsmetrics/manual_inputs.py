"""Load a CSV of manually collected numbers (market size, ...) into raw.manual_metrics.

A person edits the CSV (columns of the raw contract: metric_name, period_start, period_end,
value, unit, source, entered_by; `_loaded_at` optional) and loads it as often as they like.
Rows already loaded with the same values are skipped; a corrected row is inserted with the
load time as `_loaded_at`, so staging keeps it as the latest copy of its (metric_name,
period_start). The loader checks the file's shape and types only; what the values mean
(known metric, unit, overlapping periods, negative values) is judged by staging, which
quarantines what fails.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from opsmetrics.contract import DUCKDB_TYPES, POSTGRES_TYPES, raw_tables
from opsmetrics.settings import check_target, duckdb_path, postgres_params

TABLE = "manual_metrics"
RAW_SCHEMA = "raw"
LOADED_AT = "_loaded_at"


class ManualInputError(Exception):
    """The CSV does not meet the raw contract of manual_metrics."""


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0]


def read_manual_csv(path: Path, loaded_at: datetime | None = None) -> pa.Table:
    """The CSV's rows cast to the contract, `_loaded_at` filled with `loaded_at` (default:
    now, UTC) where the file has none; a ManualInputError names what is wrong."""
    table = raw_tables()[TABLE]
    if not path.is_file():
        raise ManualInputError(f"{path}: no such file")
    stamp = (loaded_at or datetime.now(UTC)).replace(tzinfo=None)
    with duckdb.connect() as reader:
        try:
            relation = reader.read_csv(str(path), header=True, all_varchar=True)
        except duckdb.Error as error:
            raise ManualInputError(
                f"{path.name}: not a readable CSV: {_first_line(error)}"
            ) from None
        present = set(relation.columns)
        missing = [c for c in table.column_names if c not in present and c != LOADED_AT]
        unknown = sorted(present - set(table.column_names))
        if missing or unknown:
            problems = [f"missing column(s) {', '.join(missing)}"] if missing else []
            problems += [f"unknown column(s) {', '.join(unknown)}"] if unknown else []
            raise ManualInputError(f"{path.name}: {'; '.join(problems)}")
        relation.create_view("manual_csv")
        for column in table.columns:
            if column.name not in present or column.data_type == "varchar":
                continue
            target_type = DUCKDB_TYPES[column.data_type]
            bad = reader.execute(
                f'select line, "{column.name}" from ('
                f'select row_number() over () + 1 as line, "{column.name}" from manual_csv'
                f") as numbered where nullif(trim(\"{column.name}\"), '') is not null "
                f'and try_cast(trim("{column.name}") as {target_type}) is null limit 1'
            ).fetchone()
            if bad:
                line, text = bad
                raise ManualInputError(
                    f"{path.name}, line {line}: {column.name} {text!r} is not a {column.data_type}"
                )
        expressions = []
        for column in table.columns:
            value = f"nullif(trim(\"{column.name}\"), '')"
            cast = f"cast({value} as {DUCKDB_TYPES[column.data_type]})"
            if column.name == LOADED_AT:
                cast = f"coalesce({cast}, $stamp)" if column.name in present else "$stamp"
            expressions.append(f'{cast} as "{column.name}"')
        return reader.sql(
            f"select {', '.join(expressions)} from manual_csv", params={"stamp": stamp}
        ).to_arrow_table()


def _not_yet_loaded(target_table: str, new_rows: str) -> str:
    """INSERT of the new rows whose values (all but _loaded_at) are not in the table yet."""
    columns = [c.name for c in raw_tables()[TABLE].columns if c.name != LOADED_AT]
    same = " and ".join(f'loaded."{c}" is not distinct from new_rows."{c}"' for c in columns)
    return (
        f"insert into {target_table} select * from {new_rows} as new_rows "
        f"where not exists (select 1 from {target_table} as loaded where {same})"
    )


def load_manual_csv(path: Path, target: str = "duckdb", loaded_at: datetime | None = None) -> int:
    """Load the CSV into `target`'s raw.manual_metrics in one transaction; returns the rows
    inserted (rows already loaded with the same values are skipped)."""
    check_target(target)
    rows = read_manual_csv(path, loaded_at)
    table = raw_tables()[TABLE]
    target_table = f"{RAW_SCHEMA}.{TABLE}"
    if target == "duckdb":
        columns = ", ".join(f'"{c.name}" {DUCKDB_TYPES[c.data_type]}' for c in table.columns)
        warehouse = duckdb_path()
        warehouse.parent.mkdir(parents=True, exist_ok=True)
        with duckdb.connect(str(warehouse)) as connection:
            connection.execute("begin")
            connection.execute(f"create schema if not exists {RAW_SCHEMA}")
            connection.execute(f"create table if not exists {target_table} ({columns})")
            connection.register("manual_rows", rows)
            before = connection.execute(f"select count(*) from {target_table}").fetchone()[0]
            connection.execute(_not_yet_loaded(target_table, "manual_rows"))
            after = connection.execute(f"select count(*) from {target_table}").fetchone()[0]
            connection.execute("commit")
        return after - before
    import psycopg2
    from psycopg2.extras import execute_values

    columns = ", ".join(f'"{c.name}" {POSTGRES_TYPES[c.data_type]}' for c in table.columns)
    connection = psycopg2.connect(**postgres_params())
    try:
        with connection, connection.cursor() as cursor:
            cursor.execute(f"create schema if not exists {RAW_SCHEMA}")
            cursor.execute(f"create table if not exists {target_table} ({columns})")
            cursor.execute(f"create temp table manual_rows (like {target_table}) on commit drop")
            execute_values(
                cursor,
                "insert into manual_rows values %s",
                [tuple(row.values()) for row in rows.to_pylist()],
            )
            cursor.execute(_not_yet_loaded(target_table, "manual_rows"))
            return cursor.rowcount
    finally:
        connection.close()
