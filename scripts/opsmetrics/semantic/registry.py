"""The KPI registry: every metric with its registry `meta` and formula, the checks on
it, and the page docs/kpis.md rendered from it.

It reads target/manifest.json as `dbt parse` writes it (metrics with their registry
`meta`, the `{% docs kpi_... %}` formula blocks).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opsmetrics.settings import project_dir

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


def manifest_path(project: Path | None = None) -> Path:
    """target/manifest.json of `project` (default: the project this process works on)."""
    return (project or project_dir()) / "target" / "manifest.json"


def load_manifest(project: Path | None = None) -> dict[str, Any]:
    """target/manifest.json as written by the last `dbt parse` (or build)."""
    return json.loads(manifest_path(project).read_text())


def kpis_page_path() -> Path:
    """docs/kpis.md of the project, the page `opsmetrics kpis` writes."""
    return project_dir() / "docs" / "kpis.md"


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


def write_kpis_page(path: Path | None = None, target: str = "duckdb") -> bool:
    """Parse the project and (re)write the KPI page (default docs/kpis.md); True when its
    content changed."""
    from opsmetrics.dbt_invoke import run_dbt  # dbt loads in seconds: only where it runs

    path = path or kpis_page_path()
    run_dbt(["parse"], target=target)
    content = render_kpis_page(load_manifest())
    changed = not path.exists() or path.read_text() != content
    if changed:
        path.write_text(content)
    return changed
