"""One small connection interface over DuckDB and Postgres for the alert code.

Values are bound as parameters, written `{p}` in the SQL here (`?` for DuckDB, `%s` for
Postgres); identifiers come only from validated config (the rule model checks them) or
from the manifest's saved queries.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from opsmetrics.settings import check_target, duckdb_path, postgres_params


class WarehouseError(RuntimeError):
    """The warehouse could not be opened or a query failed."""


class Warehouse:
    """A connection to the target's warehouse (read-only when `read_only`)."""

    def __init__(self, target: str = "duckdb", read_only: bool = False) -> None:
        self.target = check_target(target)
        self.read_only = read_only
        self._in_transaction = False
        try:
            if target == "duckdb":
                import duckdb

                path = duckdb_path()
                if not path.exists():
                    raise WarehouseError(f"no warehouse at {path}: run make demo or dbt build")
                self._connection: Any = duckdb.connect(str(path), read_only=read_only)
            else:
                import psycopg2

                self._connection = psycopg2.connect(**postgres_params())
                self._connection.set_session(readonly=read_only, autocommit=False)
        except WarehouseError:
            raise
        except Exception as error:
            raise WarehouseError(f"cannot open the {target} warehouse: {error}") from None

    def _sql(self, sql: str) -> str:
        return sql.replace("{p}", "?" if self.target == "duckdb" else "%s")

    def frame(self, sql: str, params: Sequence[Any] = ()) -> pd.DataFrame:
        """The result of `sql` as a DataFrame."""
        try:
            if self.target == "duckdb":
                return self._connection.execute(self._sql(sql), list(params)).df()
            with self._connection.cursor() as cursor:
                cursor.execute(self._sql(sql), list(params))
                columns = [d[0] for d in cursor.description]
                return pd.DataFrame(cursor.fetchall(), columns=columns)
        except Exception as error:
            self.rollback()
            raise WarehouseError(f"query failed: {str(error).splitlines()[0]}") from None

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        try:
            if self.target == "duckdb":
                self._connection.execute(self._sql(sql), list(params))
            else:
                with self._connection.cursor() as cursor:
                    cursor.execute(self._sql(sql), list(params))
        except Exception as error:
            self.rollback()
            raise WarehouseError(f"statement failed: {str(error).splitlines()[0]}") from None

    def columns(self, schema: str, table: str) -> list[str]:
        """Column names of schema.table in order (empty when the table does not exist)."""
        frame = self.frame(
            "select column_name from information_schema.columns "
            "where table_schema = {p} and table_name = {p} order by ordinal_position",
            (schema, table),
        )
        return [str(name) for name in frame["column_name"]]

    def exists(self, schema: str, table: str) -> bool:
        return bool(self.columns(schema, table))

    def begin(self) -> None:
        """Start a transaction (Postgres sessions are always in one)."""
        if self.target == "duckdb" and not self._in_transaction:
            self._connection.execute("begin transaction")
            self._in_transaction = True

    def commit(self) -> None:
        if self.target == "postgres" or self._in_transaction:
            self._connection.commit()
        self._in_transaction = False

    def rollback(self) -> None:
        if self.target == "postgres" or self._in_transaction:
            self._connection.rollback()
        self._in_transaction = False

    def close(self) -> None:
        self._connection.close()

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
