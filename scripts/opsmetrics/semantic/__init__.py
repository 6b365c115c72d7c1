"""The semantic layer's Python side, in two parts that share only the dbt manifest:

- registry: the KPI registry (every metric with its `meta` and formula), its checks and
  the page docs/kpis.md (`opsmetrics kpis`);
- export: every saved query materialised as a warehouse table (`opsmetrics
  export-metrics`).

Both read target/manifest.json as `dbt parse` writes it. Import from here or from the
sub-module.
"""

from opsmetrics.semantic.export import (
    MetricTable,
    TrailingWindow,
    create_table_sql,
    export_metrics,
    metric_tables,
)
from opsmetrics.semantic.registry import (
    BuildingBlock,
    Kpi,
    building_blocks,
    is_kpi,
    kpi_registry,
    kpis_page_path,
    load_manifest,
    manifest_path,
    north_star,
    registry_problems,
    render_kpis_page,
    render_metric_tree,
    tree_problems,
    write_kpis_page,
)

__all__ = [
    "BuildingBlock",
    "Kpi",
    "MetricTable",
    "TrailingWindow",
    "building_blocks",
    "create_table_sql",
    "export_metrics",
    "is_kpi",
    "kpi_registry",
    "kpis_page_path",
    "load_manifest",
    "manifest_path",
    "metric_tables",
    "north_star",
    "registry_problems",
    "render_kpis_page",
    "render_metric_tree",
    "tree_problems",
    "write_kpis_page",
]
