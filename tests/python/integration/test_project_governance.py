"""House rules every model must keep: documented, keyed, and browsable in dbt docs; and
every KPI governed (registry fields, metric tree)."""

from __future__ import annotations

import copy
import json

import duckdb
import pytest

from opsmetrics import PROJECT_DIR
from opsmetrics.dbt_invoke import run_dbt
from opsmetrics.semantic import kpi_registry, registry_problems

# Base models mirror raw rows (exact duplicates included): no key by design.
KEYLESS_PREFIXES = ("base_",)
KEY_TESTS = {"unique", "unique_combination_of_columns"}


@pytest.fixture(scope="module")
def manifest(parsed_manifest: dict) -> dict:
    """The project's manifest (`dbt parse`, conftest): the same nodes a build has."""
    return parsed_manifest


def project_models(manifest: dict) -> list[dict]:
    return [
        node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["package_name"] == "opsmetrics"
    ]


def test_every_model_has_a_description(manifest):
    undocumented = [m["name"] for m in project_models(manifest) if not m["description"].strip()]
    assert undocumented == []


def test_every_built_column_is_documented(manifest, warehouse: duckdb.DuckDBPyConnection):
    missing = []
    for model in project_models(manifest):
        if model["config"]["materialized"] == "ephemeral":
            continue
        documented = {
            name.lower() for name, column in model["columns"].items() if column["description"]
        }
        built = warehouse.execute(
            "select column_name from information_schema.columns "
            "where table_schema = ? and table_name = ?",
            [model["schema"], model["alias"]],
        ).fetchall()
        assert built, f"{model['name']} was not built"
        missing += [f"{model['name']}.{c}" for (c,) in built if c.lower() not in documented]
    assert missing == []


def test_every_model_has_a_tested_primary_key(manifest):
    keyed = set()
    for node in manifest["nodes"].values():
        metadata = node.get("test_metadata") or {}
        if node["resource_type"] == "test" and metadata.get("name") in KEY_TESTS:
            keyed.update(node["depends_on"]["nodes"])
    unkeyed = [
        m["name"]
        for m in project_models(manifest)
        if m["unique_id"] not in keyed and not m["name"].startswith(KEYLESS_PREFIXES)
    ]
    assert unkeyed == []


def test_dbt_docs_generate_works(tiny_warehouse):
    run_dbt(["docs", "generate"])
    catalog = json.loads((PROJECT_DIR / "target" / "catalog.json").read_text())
    assert any(key.endswith("fct_staging_reconciliation") for key in catalog["nodes"])


def test_every_kpi_is_governed_and_sits_in_the_metric_tree(manifest):
    """owner, tier, direction, target, thresholds, review cadence, collection frequency and
    a parent (all but the one north star): registry_problems finds none missing."""
    assert registry_problems(manifest) == []
    stars = [kpi.name for kpi in kpi_registry(manifest) if kpi.meta.get("is_north_star")]
    assert len(stars) == 1


@pytest.mark.parametrize(
    "field",
    [
        "owner",
        "tier",
        "direction",
        "target",
        "warning_threshold",
        "critical_threshold",
        "review_frequency",
        "collection_frequency",
        "parent",
    ],
)
def test_governance_fails_when_a_kpi_lacks_a_field(manifest, field):
    spoiled = copy.deepcopy(manifest)
    spoiled["metrics"]["metric.opsmetrics.error_rate"]["config"]["meta"].pop(field)
    assert any(problem.startswith("error_rate: missing") for problem in registry_problems(spoiled))
    assert field in " ".join(registry_problems(spoiled))


def test_governance_fails_without_exactly_one_north_star(manifest):
    spoiled = copy.deepcopy(manifest)
    spoiled["metrics"]["metric.opsmetrics.arr"]["config"]["meta"].pop("is_north_star")
    assert "metric tree: 0 north stars (none), need one" in registry_problems(spoiled)


def undocumented(manifest: dict) -> list[str]:
    """Every project model, source table, seed, macro, exposure, semantic model, metric and
    saved query (and every column any of them declares, and every column of a seed's CSV)
    without a description: what dbt docs would show blank."""
    missing = []
    documented = [
        *(n for n in manifest["nodes"].values() if n["resource_type"] in ("model", "seed")),
        *manifest["sources"].values(),
        *manifest["macros"].values(),
        *manifest["exposures"].values(),
        *manifest["semantic_models"].values(),
        *manifest["metrics"].values(),
        *manifest["saved_queries"].values(),
    ]
    for node in documented:
        if node["package_name"] != "opsmetrics":
            continue
        name = f"{node['resource_type']} {node['name']}"
        if node["resource_type"] == "source":
            name = f"source {node['source_name']}.{node['name']}"
            if not node.get("source_description", "").strip():
                missing.append(f"source {node['source_name']}")
        if not (node.get("description") or "").strip():
            missing.append(name)
        columns = dict.fromkeys(node.get("columns", {}))
        if node["resource_type"] == "seed":
            # A seed's columns are its CSV header: an undeclared one has no description.
            header = (PROJECT_DIR / node["original_file_path"]).read_text().splitlines()[0]
            columns.update(dict.fromkeys(header.split(",")))
        missing += [
            f"{name}.{column}"
            for column in columns
            if not (node.get("columns", {}).get(column, {}).get("description") or "").strip()
        ]
    return sorted(set(missing))


def test_every_node_macro_and_column_has_a_description_at_parse_time(parsed_manifest):
    assert undocumented(parsed_manifest) == []


def test_the_description_check_catches_a_blank_macro_column_metric_and_seed_column(
    parsed_manifest,
):
    manifest = copy.deepcopy(parsed_manifest)
    macro = next(m for m in manifest["macros"].values() if m["package_name"] == "opsmetrics")
    macro["description"] = " "
    model = next(n for n in manifest["nodes"].values() if n["name"] == "fct_mrr_monthly")
    first_column = next(iter(model["columns"]))
    model["columns"][first_column]["description"] = ""
    manifest["metrics"]["metric.opsmetrics.mrr"]["description"] = ""
    seed = next(n for n in manifest["nodes"].values() if n["name"] == "plans")
    del seed["columns"]["plan_name"]  # in the CSV header, no longer declared
    assert undocumented(manifest) == sorted(
        [
            f"macro {macro['name']}",
            f"model fct_mrr_monthly.{first_column}",
            "metric mrr",
            "seed plans.plan_name",
        ]
    )


def test_lineage_reaches_from_raw_sources_through_marts_to_an_exposure(parsed_manifest):
    parents = parsed_manifest["parent_map"]

    def ancestors(unique_id: str) -> set[str]:
        seen, todo = set(), [unique_id]
        while todo:
            for parent in parents.get(todo.pop(), []):
                if parent not in seen:
                    seen.add(parent)
                    todo.append(parent)
        return seen

    exposures = list(parsed_manifest["exposures"])
    assert exposures, "no exposure declared"
    for exposure in exposures:
        upstream = ancestors(exposure)
        assert any(u.startswith("source.opsmetrics.") for u in upstream), exposure
        assert any(u.startswith("model.opsmetrics.fct_") for u in upstream), exposure
