"""bi/bundle, Superset's export YAML, kept in step with metrics/saved_queries.yml without
Superset: each dataset has exactly its saved query's columns, each chart reads a dataset
of the bundle and columns it has, and everything points at the one published database.
(`make test-bi` checks the numbers through Superset itself.)"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from conftest import saved_query_columns

from opsmetrics.bi import PUBLISHED_DATABASE, bundle_dir, bundle_zip
from opsmetrics.dashboards.audiences import REGISTRY


def load(folder: str) -> dict[str, dict]:
    return {
        path.name: yaml.safe_load(path.read_text())
        for path in sorted((bundle_dir() / folder).rglob("*.yaml"))
    }


def test_each_dataset_has_exactly_the_columns_of_its_saved_query() -> None:
    queries = saved_query_columns()
    datasets = load("datasets")
    assert {d["table_name"] for d in datasets.values()} >= {a.card_table for a in REGISTRY.values()}
    for name, dataset in datasets.items():
        assert dataset["schema"] == "metrics", name
        columns = {column["column_name"] for column in dataset["columns"]}
        assert columns == queries[dataset["table_name"]], (
            f"{name}: add {sorted(queries[dataset['table_name']] - columns)}, "
            f"drop {sorted(columns - queries[dataset['table_name']])}"
        )


def test_charts_read_bundle_datasets_and_their_columns() -> None:
    datasets = {d["uuid"]: d for d in load("datasets").values()}
    charts = load("charts")
    assert charts
    for name, chart in charts.items():
        dataset = datasets[chart["dataset_uuid"]]
        columns = {column["column_name"] for column in dataset["columns"]}
        params = chart["params"]
        used = set(params.get("all_columns", [])) | set(params.get("groupby", []))
        used |= {params["x_axis"]} if "x_axis" in params else set()
        used |= {metric["column"]["column_name"] for metric in params.get("metrics", [])}
        assert used, name
        assert used <= columns, (name, used - columns)


def test_every_dataset_is_on_the_published_database_and_the_dashboard_shows_every_chart() -> None:
    (database,) = load("databases").values()
    assert database["database_name"] == PUBLISHED_DATABASE
    assert not database["allow_dml"] and not database["allow_file_upload"]
    assert {d["database_uuid"] for d in load("datasets").values()} == {database["uuid"]}
    (dashboard,) = load("dashboards").values()
    shown = {
        node["meta"]["uuid"]
        for node in dashboard["position"].values()
        if isinstance(node, dict) and node.get("type") == "CHART"
    }
    assert shown == {chart["uuid"] for chart in load("charts").values()}


@pytest.mark.parametrize("published", [Path("/srv/bi/opsmetrics_published.duckdb")])
def test_the_imported_bundle_points_at_this_machines_snapshot_read_only(published: Path) -> None:
    import io
    import zipfile

    with zipfile.ZipFile(io.BytesIO(bundle_zip(published))) as archive:
        (name,) = [n for n in archive.namelist() if n.startswith("bundle/databases/")]
        database = yaml.safe_load(archive.read(name))
    assert database["sqlalchemy_uri"] == f"duckdb:///{published}?access_mode=read_only"
