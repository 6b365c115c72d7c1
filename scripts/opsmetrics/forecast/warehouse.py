"""Reading the marts and writing the `forecasts` schema on DuckDB or Postgres alike."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import pandas as pd

from opsmetrics.settings import check_target, duckdb_path, postgres_params

SCHEMA = "forecasts"
T = TypeVar("T")
COLUMNS: dict[str, tuple[tuple[str, str], ...]] = {
    "metric_forecasts": (
        ("metric", "varchar"),
        ("slice_name", "varchar"),
        ("slice_value", "varchar"),
        ("run_at", "timestamp"),
        ("trained_until", "date"),
        ("forecast_date", "date"),
        ("horizon_day", "integer"),
        ("point", "double precision"),
        ("lower_80", "double precision"),
        ("upper_80", "double precision"),
        ("lower_95", "double precision"),
        ("upper_95", "double precision"),
        ("model", "varchar"),
        ("status", "varchar"),
        ("grain", "varchar"),
        ("message", "varchar"),
        ("backtest_mase", "double precision"),
        ("baseline_backtest_mase", "double precision"),
    ),
    "threshold_crossings": (
        ("metric", "varchar"),
        ("slice_name", "varchar"),
        ("slice_value", "varchar"),
        ("threshold_kind", "varchar"),
        ("threshold_value", "double precision"),
        ("direction", "varchar"),
        ("trained_until", "date"),
        ("crossing_date", "date"),
        ("crossing_date_earliest", "date"),
        ("crossing_date_latest", "date"),
        ("model", "varchar"),
        ("run_at", "timestamp"),
        ("horizon_end_date", "date"),
        ("threshold_source", "varchar"),
        ("last_actual", "double precision"),
    ),
    "customer_churn_risk": (
        ("customer_id", "varchar"),
        ("scored_month", "date"),
        ("churn_probability", "double precision"),
        ("risk_band", "varchar"),
        ("top_features", "varchar"),
        ("model", "varchar"),
        ("run_at", "timestamp"),
        ("plan_id", "varchar"),
        ("mrr_amount", "double precision"),
    ),
}


class WarehouseError(RuntimeError):
    """The warehouse cannot be read or written as asked (a clear one-line message)."""


class Warehouse:
    """One open connection to the DuckDB file or the Postgres database of `target`."""

    def __init__(self, target: str, connection: Any) -> None:
        self.target = target
        self.connection = connection

    def query(self, sql: str) -> pd.DataFrame:
        """Run a SELECT and return its rows as a DataFrame."""
        return self._transaction(lambda cursor: self._fetch(cursor, sql))

    def replace_rows(self, table: str, where: str, params: list[Any], frame: pd.DataFrame) -> None:
        """In one transaction: create the table if needed, delete the rows of this run
        (`where` with %s placeholders) and insert `frame` (columns in COLUMNS order)."""
        columns = COLUMNS[table]
        ddl = ", ".join(f"{name} {kind}" for name, kind in columns)
        names = [name for name, _ in columns]
        rows = [
            tuple(None if _missing(value) else _plain(value) for value in row)
            for row in frame.reindex(columns=names).itertuples(index=False, name=None)
        ]
        statements = [
            (f"create schema if not exists {SCHEMA}", []),
            (f"create table if not exists {SCHEMA}.{table} ({ddl})", []),
            (f"delete from {SCHEMA}.{table} where {where}", params),
        ]

        def write(cursor: Any) -> None:
            for statement, values in statements:
                cursor.execute(self._bind(statement), values)
            if rows:
                self._insert_many(cursor, table, names, rows)

        self._transaction(write)

    def _transaction(self, work: Callable[[Any], T]) -> T:
        """`work(cursor)` in one transaction, committed; rolled back on any error, which
        becomes a one-line WarehouseError."""
        try:
            if self.target == "duckdb":
                self.connection.begin()
                result = work(self.connection)
            else:
                with self.connection.cursor() as cursor:
                    result = work(cursor)
            self.connection.commit()
        except Exception as error:
            self.connection.rollback()
            raise WarehouseError(_first_line(error)) from error
        return result

    def _bind(self, sql: str) -> str:
        """`%s` marks a bound value; DuckDB spells it `?`."""
        return sql.replace("%s", "?") if self.target == "duckdb" else sql

    def _fetch(self, cursor: Any, sql: str) -> pd.DataFrame:
        cursor.execute(sql)
        if self.target == "duckdb":
            return cursor.df()
        names = [column[0] for column in cursor.description]
        return pd.DataFrame(cursor.fetchall(), columns=names)

    def _insert_many(self, cursor: Any, table: str, names: list[str], rows: list[tuple]) -> None:
        """Every row in one statement per page: DuckDB reads them as one registered relation
        (its executemany costs a statement per row: seconds for the churn scores);
        psycopg2's execute_batch pages them."""
        into = f"insert into {SCHEMA}.{table} ({', '.join(names)})"
        if self.target == "duckdb":
            cursor.register("forecast_rows", pd.DataFrame(rows, columns=names, dtype=object))
            try:
                cursor.execute(f"{into} select {', '.join(names)} from forecast_rows")
            finally:
                cursor.unregister("forecast_rows")
            return
        from psycopg2.extras import execute_batch

        marks = ", ".join("%s" for _ in names)
        execute_batch(cursor, f"{into} values ({marks})", rows, page_size=1000)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value) or value is pd.NaT


def _plain(value: Any) -> Any:
    """numpy and pandas scalars as the Python values both drivers bind."""
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if hasattr(value, "item"):
        return value.item()
    return value


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


@contextmanager
def connect(target: str = "duckdb") -> Iterator[Warehouse]:
    """Open the warehouse of `target` for reading and writing; closed afterwards (a DuckDB
    file has one writer, so nothing stays open)."""
    try:
        check_target(target)
    except ValueError as error:
        raise WarehouseError(str(error)) from error
    if target == "duckdb":
        import duckdb

        path = duckdb_path()
        if not path.exists():
            raise WarehouseError(f"no warehouse at {path}: load data and run dbt build first")
        try:
            connection = duckdb.connect(str(path))
        except duckdb.Error as error:
            raise WarehouseError(_first_line(error)) from error
    else:
        import psycopg2

        try:
            connection = psycopg2.connect(**postgres_params())
        except psycopg2.Error as error:
            raise WarehouseError(f"cannot connect to Postgres: {_first_line(error)}") from error
    try:
        yield Warehouse(target, connection)
    finally:
        connection.close()
