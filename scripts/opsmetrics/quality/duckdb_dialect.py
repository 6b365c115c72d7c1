"""A read-only DuckDB dialect for SQLAlchemy that GX's SQL datasource can use.

Why GX 1.x returns no rows on duckdb-engine: duckdb-engine's cursors are not independent
result sets, they all read the *connection's* last result. GX's
`SqlAlchemyExecutionEngine.execute_query` returns the result from inside
`with engine.connect()` and calls `fetchall()` after the block; closing the SQLAlchemy
connection first rolls back its auto-begun transaction, the ROLLBACK becomes the
connection's last result, and `fetchall()` returns [] ("list index out of range" in the
metric bundle). This dialect never opens a transaction on a connection it only reads
from, so nothing runs between the query and the fetch.

Registered as `duckdb+opsmetrics://` (the file is opened read-only).
"""

from __future__ import annotations

from typing import Any

from duckdb_engine import Dialect as DuckDBEngineDialect
from sqlalchemy.dialects import registry

DRIVER_NAME = "duckdb.opsmetrics"


class ReadOnlyDuckDBDialect(DuckDBEngineDialect):
    """duckdb-engine without transactions: every statement is its own (read-only) unit."""

    supports_statement_cache = False

    def do_begin(self, dbapi_connection: Any) -> None:
        """No BEGIN: reads need no transaction."""

    def do_rollback(self, dbapi_connection: Any) -> None:
        """No ROLLBACK: it would replace the pending result GX has yet to fetch."""

    def do_commit(self, dbapi_connection: Any) -> None:
        """Nothing to commit on a read-only connection."""


def register() -> None:
    """Make `duckdb+opsmetrics://<path>` resolvable by sqlalchemy.create_engine."""
    registry.register(DRIVER_NAME, __name__, ReadOnlyDuckDBDialect.__name__)


def connection_string(path_placeholder: str) -> str:
    return f"duckdb+opsmetrics:///{path_placeholder}"
