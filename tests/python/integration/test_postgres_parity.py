"""DuckDB and PostgreSQL build the same warehouse from the same data, row for row.

Every relation the project writes (raw, seeds, staging incl. quarantine, intermediate,
marts, the semantic layer's exported metric tables, and whatever schema comes next) is
discovered from each warehouse's
information_schema, so a new mart is compared without touching this file. Rows are
compared as conftest's `rows_difference` compares them (order-independently; numbers to
1e-9 relative, timestamps, dates, strings and booleans exactly).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
import psycopg2
import pytest
from conftest import rows_difference

pytestmark = pytest.mark.postgres

# Schemas written by the tracker's commands (forecast, alerts), not by dbt: their own
# tests run them on both warehouses, in whatever order, so they are no parity subject;
# nor is test_windows, dbt's own record of each run (invocation ids, times).
SYSTEM_SCHEMAS = (
    "information_schema",
    "pg_catalog",
    "pg_toast",
    "forecasts",
    "alerts",
    "test_windows",
)
# DuckDB's default schema is main, Postgres's public: models without a folder schema.
DEFAULT_SCHEMA = {"duckdb": "main", "postgres": "public"}

Relation = tuple[str, str]


def duckdb_relations(connection: duckdb.DuckDBPyConnection) -> set[Relation]:
    rows = connection.execute(
        """
        select table_schema, table_name from information_schema.tables
        where table_catalog = current_database() and table_schema not in ?
        """,
        [list(SYSTEM_SCHEMAS)],
    ).fetchall()
    return {(_common_schema(schema, "duckdb"), name) for schema, name in rows}


def postgres_relations(cursor: psycopg2.extensions.cursor) -> set[Relation]:
    cursor.execute(
        """
        select table_schema, table_name from information_schema.tables
        where table_catalog = current_database() and table_schema not in %s
            and table_schema not like 'pg\\_temp\\_%%'
        """,
        (SYSTEM_SCHEMAS,),
    )
    return {(_common_schema(schema, "postgres"), name) for schema, name in cursor.fetchall()}


def _common_schema(schema: str, warehouse: str) -> str:
    return "<default>" if schema == DEFAULT_SCHEMA[warehouse] else schema


def _warehouse_schema(schema: str, warehouse: str) -> str:
    return DEFAULT_SCHEMA[warehouse] if schema == "<default>" else schema


def postgres_rows(
    cursor: psycopg2.extensions.cursor, relation: Relation
) -> tuple[list[str], list[tuple]]:
    """The columns and rows of a relation (as postgres_relations names it)."""
    schema, name = relation
    cursor.execute(f'select * from "{_warehouse_schema(schema, "postgres")}"."{name}"')
    return [d[0] for d in cursor.description], cursor.fetchall()


def compare_relation(
    relation: Relation,
    duck: duckdb.DuckDBPyConnection,
    cursor: psycopg2.extensions.cursor,
) -> str | None:
    """None when both warehouses hold the same rows, else what differs."""
    schema, name = relation
    duck_result = duck.execute(f'select * from "{_warehouse_schema(schema, "duckdb")}"."{name}"')
    duck_columns = [d[0] for d in duck_result.description]
    duck_rows = duck_result.fetchall()
    pg_columns, pg_rows = postgres_rows(cursor, relation)

    label = f"{schema}.{name}"
    if duck_columns != pg_columns:
        return f"{label}: columns differ: duckdb {duck_columns} vs postgres {pg_columns}"
    return rows_difference(label, duck_columns, ("duckdb", duck_rows), ("postgres", pg_rows))


@pytest.fixture(scope="module")
def metric_tables_exported(tiny_postgres: dict[str, str | int], tiny_warehouse: Path) -> None:
    """`opsmetrics export-metrics` on both warehouses: MetricFlow compiles every saved
    query in each dialect, so the metric tables join the row-for-row comparison."""
    env = {**os.environ, "OPSMETRICS_DUCKDB_PATH": str(tiny_warehouse)}
    for target in ("duckdb", "postgres"):
        result = subprocess.run(
            [str(Path(sys.executable).parent / "opsmetrics"), "export-metrics", "--target", target],
            cwd=Path(__file__).parents[3],
            env=env,
            capture_output=True,
            text=True,
        )
        output = result.stdout + result.stderr
        assert result.returncode == 0, f"export-metrics on {target}:\n{output}"


@pytest.fixture
def both_warehouses(
    tiny_postgres: dict[str, str | int], tiny_warehouse: Path, metric_tables_exported: None
) -> Iterator[tuple[duckdb.DuckDBPyConnection, psycopg2.extensions.cursor]]:
    # Not read_only: dbt-duckdb, run in-process, keeps the file open read-write, and DuckDB
    # refuses a second connection to it with a different configuration.
    duck = duckdb.connect(str(tiny_warehouse), read_only=True)
    connection = psycopg2.connect(**tiny_postgres)
    cursor = connection.cursor()
    yield duck, cursor
    cursor.close()
    connection.close()
    duck.close()


def test_both_warehouses_hold_the_same_relations(both_warehouses) -> None:
    duck, cursor = both_warehouses
    duck_only = duckdb_relations(duck) - postgres_relations(cursor)
    pg_only = postgres_relations(cursor) - duckdb_relations(duck)
    assert not duck_only and not pg_only, (
        f"only on duckdb: {duck_only}; only on postgres: {pg_only}"
    )


def test_every_built_model_and_seed_is_discovered(both_warehouses) -> None:
    """The discovery cannot silently miss a model: the manifest's nodes are all there."""
    duck, _ = both_warehouses
    manifest = json.loads((Path(__file__).parents[3] / "target" / "manifest.json").read_text())
    built = {
        (
            "<default>" if node["schema"] in DEFAULT_SCHEMA.values() else node["schema"],
            node["alias"],
        )
        for node in manifest["nodes"].values()
        if node["resource_type"] in ("model", "seed")
        and node["config"]["materialized"] != "ephemeral"
        and node["config"].get("enabled", True)
    }
    assert built, "the manifest lists no models"
    assert built <= duckdb_relations(duck)


def test_every_relation_has_the_same_rows_on_duckdb_and_postgres(both_warehouses) -> None:
    duck, cursor = both_warehouses
    relations = sorted(duckdb_relations(duck) & postgres_relations(cursor))
    assert {"staging", "marts", "metrics"} <= {schema for schema, _ in relations}
    differences = [
        difference
        for relation in relations
        if (difference := compare_relation(relation, duck, cursor)) is not None
    ]
    assert not differences, "\n".join(differences)
