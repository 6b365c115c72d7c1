"""The semantic layer's Python side: the KPI registry page and the BI metric tables.

Both read the dbt artefacts of `dbt parse`: target/manifest.json (metrics with their
registry `meta`, the `{% docs kpi_... %}` formula blocks, saved queries and their exports)
and target/semantic_manifest.json (which MetricFlow compiles queries from).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opsmetrics import PROJECT_DIR
from opsmetrics.dbt_invoke import release_duckdb, run_dbt
from opsmetrics.settings import check_semantic_target

REGISTRY_FIELDS = (
    "definition",
    "owner",
    "tier",
    "review_frequency",
    "unit",
    "target",
    "warning_threshold",
    "critical_threshold",
    "direction",
    "collection_frequency",
)
TIERS = ("strategic", "tactical", "operational")
REVIEW_FREQUENCIES = ("daily", "weekly", "monthly", "quarterly")
COLLECTION_FREQUENCIES = (
    "5_minutes",
    "15_minutes",
    "hourly",
    "daily",
    "weekly",
    "monthly",
    "quarterly",
)
DIRECTIONS = ("higher_is_better", "lower_is_better")
NORTH_STAR_KEY = "is_north_star"
PARENT_KEY = "parent"
KPIS_PAGE = PROJECT_DIR / "docs" / "kpis.md"


@dataclass(frozen=True)
class Kpi:
    """One KPI registry entry: a metric whose meta carries the registry fields."""

    name: str
    label: str
    metric_type: str
    domain: str
    description: str
    meta: dict[str, Any]
    formula: str


@dataclass(frozen=True)
class BuildingBlock:
    """A metric that only feeds KPIs (a numerator, denominator or offset input)."""

    name: str
    domain: str
    description: str
    used_by: tuple[str, ...]


def load_manifest(project_dir: Path = PROJECT_DIR) -> dict[str, Any]:
    """target/manifest.json as written by the last `dbt parse` (or build)."""
    return json.loads((project_dir / "target" / "manifest.json").read_text())


def _metrics(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    return sorted(manifest["metrics"].values(), key=lambda metric: metric["name"])


def _meta(metric: dict[str, Any]) -> dict[str, Any]:
    return metric.get("config", {}).get("meta") or metric.get("meta") or {}


def _domain(metric: dict[str, Any]) -> str:
    return Path(metric["original_file_path"]).stem


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().replace("|", "\\|")


def _docs_block(manifest: dict[str, Any], name: str) -> str | None:
    for doc in manifest["docs"].values():
        if doc["name"] == name:
            return doc["block_contents"]
    return None


def is_kpi(metric: dict[str, Any]) -> bool:
    """A KPI is a metric with a registry entry; a metric without meta is a building block."""
    return bool(_meta(metric))


def kpi_registry(manifest: dict[str, Any]) -> list[Kpi]:
    """Every KPI, ordered by domain and name, with the formula text of its docs block."""
    kpis = [
        Kpi(
            name=metric["name"],
            label=metric["label"],
            metric_type=metric["type"],
            domain=_domain(metric),
            description=metric["description"],
            meta=_meta(metric),
            formula=_docs_block(manifest, str(_meta(metric).get("definition"))) or "",
        )
        for metric in _metrics(manifest)
        if is_kpi(metric)
    ]
    return sorted(kpis, key=lambda kpi: (kpi.domain, kpi.name))


def building_blocks(manifest: dict[str, Any]) -> list[BuildingBlock]:
    """Metrics without a registry entry, with the metrics that read them."""
    metrics = _metrics(manifest)
    blocks = []
    for metric in metrics:
        if is_kpi(metric):
            continue
        used_by = tuple(
            other["name"]
            for other in metrics
            if metric["unique_id"] in other.get("depends_on", {}).get("nodes", [])
        )
        blocks.append(
            BuildingBlock(
                name=metric["name"],
                domain=_domain(metric),
                description=metric["description"],
                used_by=used_by,
            )
        )
    return sorted(blocks, key=lambda block: (block.domain, block.name))


def registry_problems(manifest: dict[str, Any]) -> list[str]:
    """Everything wrong with the registry: missing or invalid fields, unknown docs blocks,
    thresholds in the wrong order, building blocks nothing uses."""
    problems = []
    for kpi in kpi_registry(manifest):
        missing = [field for field in REGISTRY_FIELDS if field not in kpi.meta]
        if missing:
            problems.append(f"{kpi.name}: missing {', '.join(missing)}")
            continue
        meta = kpi.meta
        if not kpi.description.strip():
            problems.append(f"{kpi.name}: no description")
        if not kpi.formula:
            problems.append(f"{kpi.name}: no docs block named {meta['definition']!r}")
        for field, allowed in (
            ("tier", TIERS),
            ("review_frequency", REVIEW_FREQUENCIES),
            ("collection_frequency", COLLECTION_FREQUENCIES),
            ("direction", DIRECTIONS),
        ):
            if meta[field] not in allowed:
                problems.append(f"{kpi.name}: {field} {meta[field]!r} not in {allowed}")
        if not str(meta["owner"]).strip() or not str(meta["unit"]).strip():
            problems.append(f"{kpi.name}: empty owner or unit")
        thresholds = [meta["target"], meta["warning_threshold"], meta["critical_threshold"]]
        if not all(isinstance(value, int | float) for value in thresholds):
            problems.append(f"{kpi.name}: target and thresholds must be numbers")
            continue
        target, warning, critical = thresholds
        in_order = (
            critical < warning < target
            if meta["direction"] == "higher_is_better"
            else target < warning < critical
        )
        if not in_order:
            problems.append(
                f"{kpi.name}: warning {warning} must lie strictly between target {target} "
                f"and critical {critical} ({meta['direction']})"
            )
    problems += tree_problems(kpi_registry(manifest))
    for block in building_blocks(manifest):
        if not block.used_by:
            problems.append(f"{block.name}: neither a KPI (no meta) nor used by one")
    return problems


def north_star(kpis: list[Kpi]) -> Kpi | None:
    """The KPI whose meta says `is_north_star: true` (the first, if several do)."""
    return next((kpi for kpi in kpis if kpi.meta.get(NORTH_STAR_KEY) is True), None)


def tree_problems(kpis: list[Kpi]) -> list[str]:
    """The metric tree's rules: exactly one north star, without a parent; every other KPI
    has a parent that is a KPI, either the north star (a key result) or a key result (an
    input), so the tree is two levels deep below the north star."""
    by_name = {kpi.name: kpi for kpi in kpis}
    stars = [kpi.name for kpi in kpis if kpi.meta.get(NORTH_STAR_KEY) is True]
    if len(stars) != 1:
        return [f"metric tree: {len(stars)} north stars ({', '.join(stars) or 'none'}), need one"]
    star = stars[0]
    problems = []
    for kpi in kpis:
        parent = kpi.meta.get(PARENT_KEY)
        if kpi.name == star:
            if parent is not None:
                problems.append(f"{kpi.name}: the north star has no parent, got {parent!r}")
            continue
        if parent is None:
            problems.append(f"{kpi.name}: missing parent")
        elif parent not in by_name:
            problems.append(f"{kpi.name}: parent {parent!r} is not a KPI")
        elif parent != star and by_name[parent].meta.get(PARENT_KEY) != star:
            problems.append(
                f"{kpi.name}: parent {parent!r} is neither the north star {star!r} "
                "nor one of its key results"
            )
    return problems


def render_metric_tree(kpis: list[Kpi]) -> list[str]:
    """The metric tree as a nested Markdown list: north star, key results, inputs."""
    star = north_star(kpis)
    if star is None:
        return ["No north-star metric is designated (meta `is_north_star: true`)."]

    def item(kpi: Kpi, depth: int) -> list[str]:
        line = f"{'  ' * depth}- **{kpi.label}** (`{kpi.name}`, {kpi.meta.get('unit')})"
        children = [other for other in kpis if other.meta.get(PARENT_KEY) == kpi.name]
        nested = [row for child in children if depth < 2 for row in item(child, depth + 1)]
        return [line, *nested]

    return item(star, 0)


def render_kpis_page(manifest: dict[str, Any]) -> str:
    """docs/kpis.md: the KPI registry table, then the building blocks."""
    kpis = kpi_registry(manifest)
    lines = [
        "# KPI registry",
        "",
        "Generated by `opsmetrics kpis` from the metrics in `metrics/*.yml` (their `meta`) and",
        "the `{% docs kpi_... %}` formula blocks beside the marts. Do not edit by hand.",
        "Query any metric with `mf query --metrics <name> --group-by metric_time__month`.",
        "",
        "## Metric tree",
        "",
        "The north star (meta `is_north_star: true`), its key results (meta `parent`: the",
        "north star) and their inputs (meta `parent`: a key result).",
        "",
        *render_metric_tree(kpis),
        "",
        "## Registry",
        "",
        "| Metric | Label | Domain | Type | Tier | Owner | Review | Collected | Parent | Unit "
        "| Target | Warning | Critical | Direction | Definition | Formula |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for kpi in kpis:
        meta = kpi.meta
        cells = [
            f"`{kpi.name}`",
            kpi.label,
            kpi.domain,
            kpi.metric_type,
            meta.get("tier"),
            meta.get("owner"),
            meta.get("review_frequency"),
            meta.get("collection_frequency"),
            "north star" if meta.get(NORTH_STAR_KEY) is True else f"`{meta.get(PARENT_KEY)}`",
            meta.get("unit"),
            meta.get("target"),
            meta.get("warning_threshold"),
            meta.get("critical_threshold"),
            meta.get("direction"),
            f"`{meta.get('definition')}`",
            _one_line(kpi.formula),
        ]
        lines.append("| " + " | ".join(_one_line(str(cell)) for cell in cells) + " |")
    lines += [
        "",
        "## Building blocks",
        "",
        "Numerators, denominators and offset inputs of the KPIs above: queryable, not KPIs.",
        "",
        "| Metric | Domain | Description | Used by |",
        "|---|---|---|---|",
    ]
    for block in building_blocks(manifest):
        used_by = ", ".join(f"`{name}`" for name in block.used_by)
        lines.append(
            f"| `{block.name}` | {block.domain} | {_one_line(block.description)} | {used_by} |"
        )
    return "\n".join(lines) + "\n"


def write_kpis_page(path: Path = KPIS_PAGE, target: str = "duckdb") -> bool:
    """Parse the project and (re)write the KPI page; True when its content changed."""
    run_dbt(["parse"], target=target)
    content = render_kpis_page(load_manifest())
    changed = not path.exists() or path.read_text() != content
    if changed:
        path.write_text(content)
    return changed


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
    from metricflow.engine.metricflow_engine import MetricFlowQueryRequest

    check_semantic_target(target)
    run_dbt(["parse"], target=target)
    os.environ["OPSMETRICS_TARGET"] = target
    os.environ["DBT_PROFILES_DIR"] = str(PROJECT_DIR)
    config = CLIConfiguration()
    config.setup(
        dbt_profiles_path=PROJECT_DIR, dbt_project_path=PROJECT_DIR, configure_file_logging=False
    )
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
