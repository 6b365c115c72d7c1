"""`opsmetrics prune`: retention of raw and staged rows, after they are aggregated.

The policy is var `retention_days` in dbt_project.yml (raw table -> days). A row is as
old as its delivery: rows loaded more than that many days before the table's newest
load are deleted from the raw table and from its incremental staging model, in one
transaction, and the prune is logged in `retention.prune_log` (which makes dbt refuse a
`--full-refresh` afterwards, until a `load --replace` brings a new data set). Only tables
whose marts never re-read their whole history can have a policy; see docs/decisions.md,
Issue 13: retention.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import yaml

from opsmetrics.settings import duckdb_memory_limit

# Raw tables a policy may cover: the incremental staging model holding their versions,
# and the mart (with its high-water column) that must have aggregated a row before it
# may go. Health checks (fct_incidents), events (fct_events and the product marts) and
# the small sources are rebuilt from their whole history on every run.
PRUNABLE = {
    "api_requests": ("staging.base_platform__api_requests", "marts.fct_api_requests", "_loaded_at"),
    "system_metrics": (
        "staging.base_platform__system_metrics",
        "marts.fct_resource_utilization_hourly",
        "last_loaded_at",
    ),
}
LOG_TABLE = "retention.prune_log"


class RetentionError(ValueError):
    """A bad policy, or a warehouse not ready to prune; the message is one line."""


@dataclass(frozen=True)
class Pruned:
    """What one table's prune deleted: rows loaded before `loaded_before`."""

    table: str
    loaded_before: datetime
    raw_rows: int
    staged_rows: int


def read_policy(project_dir: Path) -> dict[str, int]:
    """var retention_days of the dbt project in `project_dir`, checked."""
    project = yaml.safe_load((project_dir / "dbt_project.yml").read_text())
    variables = project.get("vars") or {}
    policy = variables.get("retention_days") or {}
    if not isinstance(policy, dict):
        raise RetentionError("var retention_days must map raw tables to days")
    lookback = int(variables.get("ops_lookback_days", 0)) + int(
        variables.get("ops_outage_lookback_days", 0)
    )
    return check_policy(policy, lookback)


def check_policy(policy: dict[str, object], min_days: int = 0) -> dict[str, int]:
    """The policy with every entry checked: a prunable table and a whole number of days
    above `min_days` (the incremental lookbacks re-read that much history)."""
    checked: dict[str, int] = {}
    for table, days in policy.items():
        if days is None:
            continue
        if table not in PRUNABLE:
            raise RetentionError(
                f"retention_days.{table}: no retention for this table (allowed: "
                f"{', '.join(sorted(PRUNABLE))}); its marts are rebuilt from its whole history"
            )
        if isinstance(days, bool) or not isinstance(days, int) or days <= min_days:
            raise RetentionError(
                f"retention_days.{table}: {days!r} is not a whole number of days above "
                f"{min_days} (the incremental lookbacks)"
            )
        checked[table] = days
    return checked


def _high_water(connection: duckdb.DuckDBPyConnection, table: str, column: str) -> datetime:
    try:
        value = connection.execute(f"select max({column}) from {table}").fetchone()[0]
    except duckdb.CatalogException as error:
        raise RetentionError(f"{table} does not exist: build the project before pruning") from error
    if value is None:
        raise RetentionError(f"{table} is empty: build the project before pruning")
    return value


def forget_prunes(connection: duckdb.DuckDBPyConnection, table: str) -> None:
    """Drop the prune log's entries of raw `table` (in the caller's transaction): a
    --replace load makes its rows a new data set, of which nothing was pruned, so dbt's
    --full-refresh (e.g. the demo's) is no longer refused for it. The load ledger forgets
    a replaced table's files the same way."""
    schema, name = LOG_TABLE.split(".")
    logged = connection.execute(
        "select count(*) from duckdb_tables() where database_name = current_database() "
        "and schema_name = ? and table_name = ?",
        [schema, name],
    ).fetchone()[0]
    if logged:
        connection.execute(f"delete from {LOG_TABLE} where table_name = ?", [table])


def prune(warehouse: Path, policy: dict[str, int], dry_run: bool = False) -> list[Pruned]:
    """Delete the rows of each table in `policy` loaded more than its days before the
    table's newest load, from raw and staging at once (nothing with `dry_run`); refuses
    while the last build has not staged and aggregated every loaded row."""
    if not warehouse.exists():
        raise RetentionError(f"warehouse not found: {warehouse}")
    results: list[Pruned] = []
    config = {"memory_limit": duckdb_memory_limit()}
    with duckdb.connect(str(warehouse), config=config) as connection:
        connection.execute("begin transaction")
        for table, days in sorted(policy.items()):
            staged, mart, mart_column = PRUNABLE[table]
            newest_load = _high_water(connection, f"raw.{table}", "_loaded_at")
            if _high_water(connection, staged, "_loaded_at") < newest_load:
                raise RetentionError(
                    f"{table}: rows loaded up to {newest_load} are not staged yet; run "
                    "dbt build before pruning"
                )
            loaded_before = newest_load - timedelta(days=days)
            aggregated_until = _high_water(connection, mart, mart_column)
            if aggregated_until < loaded_before:
                raise RetentionError(
                    f"{table}: {mart} holds loads up to {aggregated_until} only; run dbt "
                    "build before pruning"
                )
            counts = []
            for relation in (f"raw.{table}", staged):
                statement = "select count(*)" if dry_run else "delete"
                counts.append(
                    connection.execute(
                        f"{statement} from {relation} where _loaded_at < ?", [loaded_before]
                    ).fetchone()[0]
                )
            results.append(Pruned(table, loaded_before, counts[0], counts[1]))
        if dry_run:
            connection.execute("rollback")
            return results
        connection.execute("create schema if not exists retention")
        connection.execute(
            f"create table if not exists {LOG_TABLE} (table_name varchar, "
            "loaded_before timestamp, raw_rows_deleted bigint, staged_rows_deleted bigint, "
            "pruned_at timestamp)"
        )
        for result in results:
            connection.execute(
                f"insert into {LOG_TABLE} values (?, ?, ?, ?, current_timestamp)",
                [result.table, result.loaded_before, result.raw_rows, result.staged_rows],
            )
        connection.execute("commit")
    return results
