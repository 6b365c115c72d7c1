"""Apache Spark (dbt-spark, session method) and DuckDB build the same warehouse from the
same data, row for row.

The tiny data set is loaded into Spark with `opsmetrics load` and built there with
`dbt build` (every model, seed, unit test and data test); with
OPSMETRICS_SPARK_INCREMENTAL=1 (`make test-spark-incremental`) the days before the last
are loaded and built first, then the last day (with the late rows) is loaded and `dbt
build` runs incrementally (the day marts overwrite their recent days' partitions). Every
relation dbt wrote on
DuckDB (the manifest's models and seeds) and the raw tables must hold the same rows on
Spark: integers, strings, booleans and dates exactly, doubles to 1e-9 relative
(conftest's `rows_difference`, which the Postgres parity test uses too). Skipped unless
OPSMETRICS_TEST_SPARK=1 (`make test-spark`, which installs Java where missing).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from conftest import normalise, rows_difference, spark_builds_incrementally

from opsmetrics import PROJECT_DIR
from opsmetrics.contract import raw_tables

pytestmark = pytest.mark.spark

# Models without a folder schema land in the target schema: DuckDB main, Spark default.
DEFAULT_SCHEMA = {"duckdb": "main", "spark": "default"}
# A time inside JSON text: Spark writes every fraction with six digits.
JSON_FRACTION_ZEROS = re.compile(r'("\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2})(\.\d*?)0+"')


def built_relations() -> list[tuple[str, str]]:
    """Every table or view dbt builds (the manifest's enabled models and seeds) and every
    raw table of the contract, as (schema, name) with the DuckDB schema names."""
    manifest = json.loads((PROJECT_DIR / "target" / "manifest.json").read_text())
    built = {
        (node["schema"], node["alias"])
        for node in manifest["nodes"].values()
        if node["resource_type"] in ("model", "seed")
        and node["config"]["materialized"] != "ephemeral"
        and node["config"].get("enabled", True)
    }
    return sorted(built | {("raw", name) for name in raw_tables()})


def _spark_schema(schema: str) -> str:
    return DEFAULT_SCHEMA["spark"] if schema == DEFAULT_SCHEMA["duckdb"] else schema


def _without_json_fraction_zeros(column: str, value: Any) -> Any:
    if column == "raw_record" and isinstance(value, str):
        value = JSON_FRACTION_ZEROS.sub(
            lambda match: match.group(1) + match.group(2).rstrip(".") + '"', value
        )
    return normalise(column, value)


def spark_rows(spark: Any, schema: str, name: str) -> tuple[list[str], list[tuple]]:
    """Columns and rows of a Spark table; timestamps read as the UTC wall-clock times
    they hold (timestamp_ntz), never converted to the Python process's zone."""
    table = spark.table(f"`{_spark_schema(schema)}`.`{name}`")
    expressions = [
        f"cast(`{field.name}` as timestamp_ntz) as `{field.name}`"
        if field.dataType.typeName() == "timestamp"
        else f"`{field.name}`"
        for field in table.schema
    ]
    frame = table.selectExpr(*expressions)
    return frame.columns, [tuple(row) for row in frame.collect()]


def compare(relation: tuple[str, str], duck: duckdb.DuckDBPyConnection, spark: Any) -> str | None:
    """None when both warehouses hold the same rows, else what differs."""
    return _difference(relation, duck, *spark_rows(spark, *relation))


def _difference(
    relation: tuple[str, str],
    duck: duckdb.DuckDBPyConnection,
    spark_columns: list[str],
    spark_table_rows: list[tuple],
) -> str | None:
    schema, name = relation
    result = duck.execute(f'select * from "{schema}"."{name}"')
    duck_columns = [d[0] for d in result.description]
    label = f"{schema}.{name}"
    if sorted(duck_columns) != sorted(spark_columns):
        return f"{label}: columns differ: duckdb {duck_columns} vs spark {spark_columns}"
    # A partitioned Spark table lists its partition column last: compared by name.
    order = [spark_columns.index(column) for column in duck_columns]
    return rows_difference(
        label,
        duck_columns,
        ("duckdb", result.fetchall()),
        ("spark", [tuple(row[i] for i in order) for row in spark_table_rows]),
        _without_json_fraction_zeros,
    )


@pytest.fixture
def both_warehouses(tiny_spark: Any, tiny_warehouse: Path) -> Iterator[tuple[Any, Any]]:
    duck = duckdb.connect(str(tiny_warehouse), read_only=True)
    yield duck, tiny_spark
    duck.close()


def test_spark_holds_every_relation_dbt_builds(both_warehouses) -> None:
    _, spark = both_warehouses
    relations = built_relations()
    assert {"staging", "intermediate", "marts", "seeds", "raw"} <= {s for s, _ in relations}
    missing = [
        f"{schema}.{name}"
        for schema, name in relations
        if not spark.catalog.tableExists(name, _spark_schema(schema))
    ]
    assert not missing, f"not built on spark: {missing}"


def test_every_relation_has_the_same_rows_on_duckdb_and_spark(both_warehouses) -> None:
    duck, spark = both_warehouses
    differences = [
        difference
        for relation in built_relations()
        if (difference := compare(relation, duck, spark)) is not None
    ]
    assert not differences, "\n".join(differences)


def test_a_changed_value_is_a_difference(both_warehouses) -> None:
    """The comparison can fail: one double off by 1e-6 relative in a mart is reported."""
    duck, spark = both_warehouses
    relation = ("marts", "fct_revenue_daily")
    columns, rows = spark_rows(spark, *relation)
    position = columns.index("revenue_amount")
    changed = [
        (*row[:position], row[position] * (1 + 1e-6) + 1e-3, *row[position + 1 :])
        if row[position]
        else row
        for row in rows
    ]
    difference = _difference(relation, duck, columns, changed)
    assert difference is not None and "revenue_amount" in difference


def test_spark_runs_where_the_profile_says(tiny_spark: Any) -> None:
    """local[*] by default; a cluster's master URL with OPSMETRICS_SPARK_MASTER (make
    spark-cluster-demo), where the executors are the worker's, not this process."""
    master = os.environ.get("OPSMETRICS_SPARK_MASTER", "local[*]")
    context = tiny_spark.sparkContext
    assert context.master == master
    executors = context._jsc.sc().getExecutorMemoryStatus().size()
    assert executors == (1 if master.startswith("local") else 2)  # the driver counts too


def test_an_incremental_build_had_the_last_day_as_a_second_delivery(tiny_spark: Any) -> None:
    """With OPSMETRICS_SPARK_INCREMENTAL=1 the build compared above is incremental: the
    raw tables were loaded twice (the days before the last, then the last day), one
    ledger row per delivery; otherwise once."""
    loads = tiny_spark.sql(
        "select count(*) from raw.`_load_ledger` where table_name = 'api_requests'"
    ).collect()[0][0]
    assert loads == (2 if spark_builds_incrementally() else 1)
