"""Load raw files into PostgreSQL's raw schema: the same contract and idempotency as DuckDB.

DuckDB reads each file and casts it to the contract (the select load.py builds); the rows
stream in Arrow batches, as CSV, through COPY into a temp staging table, and only rows not
already in the raw table are inserted (EXCEPT ALL, so duplicates inside a file survive for
staging to see). The whole load is one transaction: it lands completely or not at all.
"""

from __future__ import annotations

import io
from pathlib import Path

import duckdb
import psycopg2
import pyarrow.csv as pa_csv
from psycopg2 import sql

from opsmetrics.contract import POSTGRES_TYPES, RawTable, raw_tables
from opsmetrics.load import RAW_SCHEMA, contract_select, find_files
from opsmetrics.settings import postgres_params

BATCH_ROWS = 100_000
# Nulls unquoted, every value quoted: COPY then tells a null from an empty string.
CSV_OPTIONS = pa_csv.WriteOptions(include_header=False, quoting_style="all_valid")


def load_postgres(from_dir: Path, replace: bool = False) -> dict[str, int]:
    """Load every table into PostgreSQL; returns the rows inserted per table.

    With `replace`, the raw tables are emptied first (a new data set, not a delivery);
    truncated, not dropped, so views and grants on them survive.
    """
    files = find_files(from_dir)
    inserted: dict[str, int] = {}
    connection = psycopg2.connect(**postgres_params())
    try:
        with duckdb.connect() as reader, connection, connection.cursor() as cursor:
            reader.execute("set TimeZone = 'UTC'")
            cursor.execute(
                sql.SQL("create schema if not exists {}").format(sql.Identifier(RAW_SCHEMA))
            )
            for name, table in raw_tables().items():
                select = contract_select(reader, table, files[name])
                inserted[name] = _load_table(reader, cursor, table, select, replace)
    finally:
        connection.close()
    return inserted


def _load_table(
    reader: duckdb.DuckDBPyConnection,
    cursor: psycopg2.extensions.cursor,
    table: RawTable,
    select: str,
    replace: bool,
) -> int:
    target = sql.Identifier(RAW_SCHEMA, table.name)
    staging = sql.Identifier(f"load_{table.name}")
    columns = sql.SQL(", ").join(
        sql.SQL("{} {}").format(sql.Identifier(c.name), sql.SQL(POSTGRES_TYPES[c.data_type]))
        for c in table.columns
    )
    cursor.execute(sql.SQL("create table if not exists {} ({})").format(target, columns))
    if replace:
        cursor.execute(sql.SQL("truncate table {}").format(target))
    cursor.execute(sql.SQL("create temp table {} (like {}) on commit drop").format(staging, target))
    copy = sql.SQL("copy {} from stdin with (format csv)").format(staging).as_string(cursor)
    batches = reader.sql(select).to_arrow_reader(BATCH_ROWS)
    for batch in batches:
        buffer = io.BytesIO()
        pa_csv.write_csv(batch, buffer, CSV_OPTIONS)
        buffer.seek(0)
        cursor.copy_expert(copy, buffer)
    cursor.execute(
        sql.SQL(
            "insert into {target} select * from "
            "(select * from {staging} except all select * from {target}) as new_rows "
            "order by _loaded_at"
        ).format(target=target, staging=staging)
    )
    inserted = cursor.rowcount
    # Fresh statistics now, not whenever autovacuum gets to it: dbt reads these next.
    cursor.execute(sql.SQL("analyze {}").format(target))
    return inserted
