"""The dashboards and reports on the Postgres warehouse (`--target postgres`): the same
cards and report values as on the DuckDB snapshot of the same tiny data."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import opsmetrics.dashboards
from opsmetrics import PROJECT_DIR
from opsmetrics.dashboards.audiences import REGISTRY
from opsmetrics.dashboards.report import collect

pytestmark = pytest.mark.postgres
PAGES = Path(opsmetrics.dashboards.__file__).parent / "audience_pages"


@pytest.fixture(scope="module")
def postgres_metric_tables(tiny_postgres: dict[str, str | int]) -> None:
    result = subprocess.run(
        [str(Path(sys.executable).parent / "opsmetrics"), "export-metrics", "--target", "postgres"],
        cwd=PROJECT_DIR,
        env=dict(os.environ),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def cards(target: str, name: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setenv("OPSMETRICS_TARGET", target)
    app = AppTest.from_file(str(PAGES / f"{name}.py"), default_timeout=120)
    app.run()
    assert not app.exception, [exception.message for exception in app.exception]
    return {metric.label: metric.value for metric in app.metric}


@pytest.mark.parametrize("name", list(REGISTRY))
def test_every_page_shows_the_same_cards_on_postgres_as_on_the_duckdb_snapshot(
    name: str,
    postgres_metric_tables: None,
    published_snapshot: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPSMETRICS_PUBLISHED_PATH", str(published_snapshot))
    on_duckdb = cards("duckdb", name, monkeypatch)
    on_postgres = cards("postgres", name, monkeypatch)
    assert on_postgres == on_duckdb and len(on_postgres) >= len(REGISTRY[name].cards)


def test_the_report_reads_the_same_values_on_postgres(
    postgres_metric_tables: None, published_snapshot: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPSMETRICS_PUBLISHED_PATH", str(published_snapshot))
    duckdb_cards = collect("executive", "2025-06", "duckdb").cards
    postgres_cards = collect("executive", "2025-06", "postgres").cards
    assert [card.text for card in postgres_cards] == [card.text for card in duckdb_cards]
