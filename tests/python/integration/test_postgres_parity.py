"""DuckDB and PostgreSQL build the same warehouse from the same data, row for row.

Every relation the project writes (raw, seeds, staging incl. quarantine, intermediate,
marts, the semantic layer's exported metric tables, and whatever schema comes next) is
discovered from each warehouse's
information_schema, so a new mart is compared without touching this file. Rows are
compared order-independently (sorted by all columns); numbers to 1e-9 relative,
timestamps, dates, strings and booleans exactly.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import psycopg2
import pytest

pytestmark = pytest.mark.postgres

RELATIVE_TOLERANCE = 1e-9
# Below this, two numbers are equal whatever their ratio (sums that should be 0).
ABSOLUTE_TOLERANCE = 1e-12
# Schemas written by the tracker's commands (forecast, alerts), not by dbt: their own
# tests run them on both warehouses, in whatever order, so they are no parity subject.
SYSTEM_SCHEMAS = ("information_schema", "pg_catalog", "pg_toast", "forecasts", "alerts")
# DuckDB's default schema is main, Postgres's public: models without a folder schema.
DEFAULT_SCHEMA = {"duckdb": "main", "postgres": "public"}
# JSON text rendered by the warehouse itself (numbers and timestamps are spelled
# differently: 900.0 / 900, '2025-06-01 12:00:00' / '2025-06-01T12:00:00'); compared
# as parsed JSON. quarantined_row_id hashes that text, so it is stable per warehouse
# only and is left out (its uniqueness is a dbt test on both). So is version_key: for a
# row with a null key part it hashes the same text (otherwise it is the natural key,
# compared in its own columns). See docs/decisions.md.
JSON_TEXT_COLUMNS = frozenset({"raw_record"})
WAREHOUSE_RENDERED_COLUMNS = frozenset({"quarantined_row_id", "version_key"})
# The load ledger (raw._load_ledger) records when each warehouse was loaded: the same
# files, rows and hashes on both, at different times.
LOAD_TIME_COLUMNS = frozenset({"loaded_at", "loaded_at_stamp"})
NAIVE_TIMESTAMP = re.compile(r"^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2}(\.\d+)?)$")

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


NON_FINITE_JSON = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def _json_value(value: Any) -> Any:
    """A parsed JSON value with warehouse spelling removed: numbers as float, naive
    timestamps with a space, non-finite doubles as floats (DuckDB writes them bare,
    Postgres as the strings "NaN", "Infinity", "-Infinity")."""
    if isinstance(value, dict):
        return {key: _json_value(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_json_value(item) for item in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float):
        return float(value)
    if value in NON_FINITE_JSON:
        return NON_FINITE_JSON[value]
    match = NAIVE_TIMESTAMP.match(value)
    return f"{match.group(1)} {match.group(2)}" if match else value


def normalise(column: str, value: Any) -> Any:
    if column in WAREHOUSE_RENDERED_COLUMNS | LOAD_TIME_COLUMNS:
        return None
    if column in JSON_TEXT_COLUMNS and value is not None:
        return _json_value(json.loads(value))
    if isinstance(value, Decimal):
        return float(value)
    return value


def sort_key(row: tuple) -> tuple:
    """Orders rows the same way on both sides although numbers differ in the last bits."""
    return tuple(_sort_part(value) for value in row)


def _sort_part(value: Any) -> tuple:
    if value is None:
        return (0, "")
    if isinstance(value, bool):
        return (1, str(value))
    if isinstance(value, float) and math.isnan(value):
        return (2, math.inf, 1)  # NaN compares with nothing: sort it after +Infinity
    if isinstance(value, int | float):
        return (2, float(f"{value:.9g}"), 0)
    if isinstance(value, dt.date):
        return (3, value.isoformat())
    if isinstance(value, dict | list):
        return (4, _rounded(value))
    return (5, str(value))


def _rounded(value: Any) -> str:
    def rounded(item: Any) -> Any:
        if isinstance(item, dict):
            return {key: rounded(inner) for key, inner in item.items()}
        if isinstance(item, list):
            return [rounded(inner) for inner in item]
        if isinstance(item, float):
            return f"{item:.9g}"
        return item

    return json.dumps(rounded(value), sort_keys=True)


def values_equal(left: Any, right: Any) -> bool:
    if left is None or right is None:
        return left is None and right is None
    if isinstance(left, bool) or isinstance(right, bool):
        return type(left) is type(right) and left == right
    if isinstance(left, int) and isinstance(right, int):
        return left == right
    if isinstance(left, int | float) and isinstance(right, int | float):
        if math.isnan(left) or math.isnan(right):
            return math.isnan(left) and math.isnan(right)
        return math.isclose(left, right, rel_tol=RELATIVE_TOLERANCE, abs_tol=ABSOLUTE_TOLERANCE)
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(values_equal(left[k], right[k]) for k in left)
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(map(values_equal, left, right))
    # datetime is a date subclass: a timestamp never equals a date, naive never aware.
    return type(left) is type(right) and left == right


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
    cursor.execute(f'select * from "{_warehouse_schema(schema, "postgres")}"."{name}"')
    pg_columns = [d[0] for d in cursor.description]
    pg_rows = cursor.fetchall()

    label = f"{schema}.{name}"
    if duck_columns != pg_columns:
        return f"{label}: columns differ: duckdb {duck_columns} vs postgres {pg_columns}"
    if len(duck_rows) != len(pg_rows):
        return f"{label}: {len(duck_rows)} rows on duckdb vs {len(pg_rows)} on postgres"
    duck_sorted = _normalised_sorted(duck_columns, duck_rows)
    pg_sorted = _normalised_sorted(pg_columns, pg_rows)
    for position, (duck_row, pg_row) in enumerate(zip(duck_sorted, pg_sorted, strict=True)):
        differing = [
            f"{column}: duckdb {left!r} vs postgres {right!r}"
            for column, left, right in zip(duck_columns, duck_row, pg_row, strict=True)
            if not values_equal(left, right)
        ]
        if differing:
            return f"{label}: sorted row {position} differs: {'; '.join(differing)}"
    return None


def _normalised_sorted(columns: list[str], rows: list[tuple]) -> list[tuple]:
    normalised = [
        tuple(normalise(column, value) for column, value in zip(columns, row, strict=True))
        for row in rows
    ]
    return sorted(normalised, key=sort_key)


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
