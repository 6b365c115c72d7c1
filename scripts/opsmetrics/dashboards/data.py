"""Read-only access to the published metric tables: the DuckDB snapshot or Postgres.

Each read opens a connection, runs one query and closes it, so the page never holds the
snapshot file open (the publisher can replace it) and never touches the file dbt writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from opsmetrics.settings import check_target, postgres_params, published_duckdb_path


class DataUnavailable(Exception):
    """The snapshot or the warehouse cannot be read (missing file, no server)."""


@dataclass(frozen=True)
class Source:
    """Where a page reads: the published DuckDB snapshot, or the Postgres warehouse."""

    target: str = "duckdb"
    path: Path | None = None

    @classmethod
    def for_target(cls, target: str) -> Source:
        check_target(target)
        return cls(target, published_duckdb_path() if target == "duckdb" else None)

    def describe(self) -> str:
        if self.target == "duckdb":
            return f"DuckDB {self.path}"
        params = postgres_params()
        return f"postgres {params['host']}:{params['port']}/{params['dbname']}"

    def query(self, sql: str, parameters: list | None = None) -> pd.DataFrame:
        """Rows of `sql` as a DataFrame, read in a read-only session."""
        if self.target == "duckdb":
            return self._query_duckdb(sql, parameters or [])
        return self._query_postgres(sql, parameters or [])

    def _query_duckdb(self, sql: str, parameters: list) -> pd.DataFrame:
        assert self.path is not None
        if not self.path.exists():
            raise DataUnavailable(
                f"no published snapshot at {self.path}: run `opsmetrics publish` after a build"
            )
        try:
            with duckdb.connect(str(self.path), read_only=True) as connection:
                return connection.execute(sql, parameters).df()
        except duckdb.IOException as error:
            raise DataUnavailable(f"cannot open {self.path}: {error}") from error

    def _query_postgres(self, sql: str, parameters: list) -> pd.DataFrame:
        import psycopg2

        try:
            connection = psycopg2.connect(**postgres_params(), connect_timeout=5)
        except psycopg2.OperationalError as error:
            first_line = str(error).strip().splitlines()[0]
            raise DataUnavailable(f"cannot connect to {self.describe()}: {first_line}") from error
        try:
            connection.set_session(readonly=True, autocommit=True)
            with connection.cursor() as cursor:
                cursor.execute(sql.replace("?", "%s"), parameters)
                columns = [column.name for column in cursor.description]
                return pd.DataFrame(cursor.fetchall(), columns=columns)
        finally:
            connection.close()

    def tables(self) -> set[str]:
        """Every `schema.table` the source has (one query, for missing-table messages)."""
        frame = self.query(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema in ('metrics', 'marts', 'alerts', 'forecasts', 'published')"
        )
        return {f"{schema}.{table}" for schema, table in frame.itertuples(index=False)}
