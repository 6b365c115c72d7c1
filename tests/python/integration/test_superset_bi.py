"""Superset, end to end (`make test-bi`): set up in a fresh home from bi/bundle, pointed at a
snapshot published from the tiny warehouse, started headless on 127.0.0.1; every dataset
read through Superset's REST API must hold the numbers `mf query` gives for its saved
query. Skipped unless OPSMETRICS_TEST_BI=1 (Superset needs .venv-bi; `make test-bi`)."""

from __future__ import annotations

import csv
import math
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from conftest import use_warehouse

from opsmetrics import PROJECT_DIR
from opsmetrics.bi import PUBLISHED_DATABASE, SupersetClient, running_superset, setup
from opsmetrics.dbt_invoke import run_dbt
from opsmetrics.publish import write_snapshot
from opsmetrics.semantic import load_manifest, metric_tables

pytestmark = [
    pytest.mark.bi,
    pytest.mark.skipif(
        os.environ.get("OPSMETRICS_TEST_BI") != "1", reason="Superset test: run make test-bi"
    ),
]
MF = Path(sys.executable).parent / "mf"


@pytest.fixture(scope="module")
def superset_url(
    tiny_metric_tables: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("bi")
    snapshot = write_snapshot(tiny_metric_tables, folder / "opsmetrics_published.duckdb", "test-bi")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("OPSMETRICS_SUPERSET_HOME", str(folder / "superset_home"))
        setup(published=snapshot.path)
        with running_superset(log=folder / "superset.log") as url:
            yield url


def mf_query(saved_query: str, warehouse: Path, out: Path) -> list[dict[str, str]]:
    """`mf query --saved-query` as a user runs it, into a CSV file."""
    done = subprocess.run(
        [str(MF), "query", "--saved-query", saved_query, "--csv", str(out), "--quiet"],
        cwd=PROJECT_DIR,
        env={**os.environ, "OPSMETRICS_DUCKDB_PATH": str(warehouse)},
        check=False,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-2000:]
    with out.open() as handle:
        return list(csv.DictReader(handle))


def as_key(value: Any) -> str:
    """A dimension value in one spelling: Superset sends times as epoch milliseconds,
    mf's CSV as text."""
    if isinstance(value, int | float) and value > 10**11:
        return datetime.fromtimestamp(value / 1000, tz=UTC).strftime("%Y-%m-%d")
    return str(value)[:10] if str(value)[:4].isdigit() else str(value)


def as_number(value: Any) -> float | None:
    return None if value in (None, "") else float(value)


def test_each_superset_dataset_returns_the_numbers_of_mf_query(
    superset_url: str, tiny_warehouse: Path, tmp_path: Path
):
    use_warehouse(tiny_warehouse)
    run_dbt(["parse"])  # the semantic manifest must name this warehouse's relations
    client = SupersetClient(superset_url)
    datasets = [
        d for d in client.datasets() if d["database"]["database_name"] == PUBLISHED_DATABASE
    ]
    tables = {t.table: t for t in metric_tables(load_manifest())}
    assert datasets, "the bundle registered no dataset on the published snapshot"
    for dataset in datasets:
        table = tables[dataset["table_name"]]
        rows = client.dataset_rows(dataset["id"])
        expected = [
            row
            for row in mf_query(table.saved_query, tiny_warehouse, tmp_path / f"{table.table}.csv")
            if any(row[m] not in ("", None) for m in table.metrics)
        ]
        assert len(rows) == len(expected) > 0, table.table
        dimensions = [c for c in expected[0] if c not in table.metrics]

        def keyed(records: list[dict[str, Any]], dims: list[str]) -> dict[tuple, dict]:
            return {tuple(as_key(r[d]) for d in dims): r for r in records}

        superset_rows = keyed(rows, [d.lower() for d in dimensions])
        for key, want in keyed(expected, dimensions).items():
            got = superset_rows[key]
            for metric in table.metrics:
                a, b = as_number(got[metric]), as_number(want[metric])
                assert (a is None and b is None) or (
                    a is not None
                    and b is not None
                    and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
                ), (table.table, key, metric, a, b)
