"""The semantic layer's warehouse side: every saved query of metrics/saved_queries.yml
materialised as a table (schema `metrics` unless its export says otherwise) for BI tools,
alerts and dashboards that read the warehouse.

MetricFlow compiles each saved query from target/semantic_manifest.json (written by
`dbt parse`); the SQL runs in the warehouse through dbt's adapter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from opsmetrics.semantic.registry import load_manifest
from opsmetrics.settings import (
    check_semantic_target,
    dbt_environment,
    project_dir,
    scoped_environment,
)


@dataclass(frozen=True)
class MetricTable:
    """Where a saved query is materialised, and which of its columns are metrics."""

    saved_query: str
    schema: str
    table: str
    metrics: tuple[str, ...]
    trailing_window: TrailingWindow | None = None


@dataclass(frozen=True)
class TrailingWindow:
    """Keep only the rows whose `column` (a time column of the saved query) lies within
    `length` (e.g. '24 hours', '90 days') of its latest value among the rows kept."""

    column: str
    length: str


TRAILING_WINDOW_KEY = "trailing_window"
WINDOW_LENGTH = re.compile(r"^\d+ (minute|hour|day)s?$")


def _trailing_window(saved_query: dict[str, Any]) -> TrailingWindow | None:
    """The saved query's `config.meta.trailing_window` ({column, length}), validated."""
    window = (saved_query.get("config") or {}).get("meta", {}).get(TRAILING_WINDOW_KEY)
    if window is None:
        return None
    column, length = str(window.get("column", "")), str(window.get("length", ""))
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", column) or not WINDOW_LENGTH.match(length):
        raise ValueError(
            f"saved query {saved_query['name']}: trailing_window needs a column name and a "
            f"length like '24 hours' or '90 days', got {window!r}"
        )
    return TrailingWindow(column, length)


def metric_tables(manifest: dict[str, Any]) -> list[MetricTable]:
    """One table per saved query, named by its export (default: schema `metrics`)."""
    tables = []
    for saved_query in sorted(manifest["saved_queries"].values(), key=lambda q: q["name"]):
        exports = saved_query.get("exports") or [{"config": {}}]
        config = exports[0]["config"]
        tables.append(
            MetricTable(
                saved_query=saved_query["name"],
                schema=config.get("schema_name") or "metrics",
                table=config.get("alias") or saved_query["name"],
                metrics=tuple(saved_query["query_params"]["metrics"]),
                trailing_window=_trailing_window(saved_query),
            )
        )
    return tables


def create_table_sql(table: MetricTable, query_sql: str) -> str:
    """CREATE TABLE AS over MetricFlow's SQL, without the rows where every metric is null
    (offset and cumulative windows reach past the data by their window length) and, for a
    saved query with a trailing window, without the rows older than the window before the
    latest remaining row (a window relative to the data, not to the clock)."""
    any_metric = " or ".join(f"{metric} is not null" for metric in table.metrics)
    rows = f"select * from (\n{query_sql.strip().rstrip(';')}\n) as saved_query\nwhere {any_metric}"
    if table.trailing_window is None:
        return f"create table {table.schema}.{table.table} as\n{rows}"
    column, length = table.trailing_window.column, table.trailing_window.length
    return (
        f"create table {table.schema}.{table.table} as\n"
        f"with saved_query_rows as (\n{rows}\n)\n"
        "select * from saved_query_rows\n"
        f"where {column} > (select max({column}) from saved_query_rows) - interval '{length}'"
    )


def _drop_time_zone(client: Any, table: MetricTable) -> None:
    """Postgres has no date_trunc for dates: MetricFlow's truncated date dimensions come
    back as timestamptz at midnight in the session's time zone. Cast back in a session
    of the same zone they are the naive day (or month) starts the metric tables hold on
    DuckDB, whatever the server's zone."""
    columns = client.query(
        "select column_name from information_schema.columns "
        f"where table_schema = '{table.schema}' and table_name = '{table.table}' "
        "and data_type = 'timestamp with time zone'"
    )
    for (column,) in columns.rows:
        client.execute(
            f"alter table {table.schema}.{table.table} "
            f"alter column {column} type timestamp using {column}::timestamp"
        )


def export_metrics(target: str = "duckdb") -> dict[str, int]:
    """Materialise every saved query into its table in the warehouse of `target`.

    MetricFlow compiles each saved query to SQL in the target's dialect; the SQL runs in the
    warehouse through dbt's adapter, so nothing is fetched into Python. Returns rows per table.
    """
    from dbt_metricflow.cli.cli_configuration import CLIConfiguration

    from opsmetrics.dbt_invoke import run_dbt  # dbt loads in seconds: only where it runs

    check_semantic_target(target)
    run_dbt(["parse"], target=target)
    project = project_dir()
    # MetricFlow renders profiles.yml from the environment: the target and warehouse are
    # set for this export only, and put back as they were afterwards.
    with scoped_environment(dbt_environment(target)):
        config = CLIConfiguration()
        config.setup(
            dbt_profiles_path=project, dbt_project_path=project, configure_file_logging=False
        )
        return _export(config, target)


def _export(config: Any, target: str) -> dict[str, int]:
    from metricflow.engine.metricflow_engine import MetricFlowQueryRequest

    from opsmetrics.dbt_invoke import release_duckdb

    client = config.sql_client
    rows = {}
    try:
        for table in metric_tables(load_manifest()):
            request = MetricFlowQueryRequest.create(saved_query_name=table.saved_query)
            query_sql = config.mf.explain(request).sql_statement.sql
            client.execute(f"create schema if not exists {table.schema}")
            client.execute(f"drop table if exists {table.schema}.{table.table}")
            client.execute(create_table_sql(table, query_sql))
            if target == "postgres":
                _drop_time_zone(client, table)
            count = client.query(f"select count(*) as row_count from {table.schema}.{table.table}")
            rows[f"{table.schema}.{table.table}"] = int(count.get_cell_value(0, 0))
    finally:
        client.close()
        release_duckdb()  # the adapter keeps the file open: publish and readers need it
    return rows
