"""dbt exposures: every dashboard page and report is declared, with the metrics it reads."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsmetrics.dashboards.audiences import REGISTRY
from opsmetrics.semantic import load_manifest


@pytest.fixture(scope="module")
def manifest(tiny_warehouse: Path) -> dict:
    """The manifest of the session's build (written by `dbt build` into target/)."""
    return load_manifest()


def saved_query_metrics(manifest: dict, tables: tuple[str, ...]) -> set[str]:
    queries = {query["name"]: query for query in manifest["saved_queries"].values()}
    return {metric for table in tables for metric in queries[table]["query_params"]["metrics"]}


def exposure(manifest: dict, name: str) -> dict:
    exposures = {item["name"]: item for item in manifest["exposures"].values()}
    assert name in exposures, f"no exposure {name}"
    return exposures[name]


def depends_on_metrics(item: dict) -> set[str]:
    return {
        node.rsplit(".", 1)[-1]
        for node in item["depends_on"]["nodes"]
        if node.startswith("metric.")
    }


@pytest.mark.parametrize("name", list(REGISTRY))
def test_each_page_and_report_is_an_exposure_with_the_metrics_it_reads(
    name: str, manifest: dict
) -> None:
    audience = REGISTRY[name]
    page = exposure(manifest, f"{name}_dashboard")
    assert page["type"] == "dashboard" and page["url"].endswith(f"/{name}")
    assert page["owner"]["name"] == audience.owner
    assert depends_on_metrics(page) == saved_query_metrics(manifest, audience.all_tables())
    report = exposure(manifest, f"{name}_kpi_report")
    assert report["owner"]["name"] == audience.owner
    assert depends_on_metrics(report) == saved_query_metrics(manifest, audience.trend_tables())


def test_the_executive_page_declares_the_marts_of_its_customer_list(manifest: dict) -> None:
    nodes = exposure(manifest, "executive_dashboard")["depends_on"]["nodes"]
    assert {"model.opsmetrics.fct_customer_mrr_monthly", "model.opsmetrics.dim_customers"} <= set(
        nodes
    )
