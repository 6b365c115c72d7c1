"""dbt docs in a real browser: the generated site, served on 127.0.0.1, opened by
Playwright driving Debian's chromium (scripts/ci/ensure_chromium.sh installs it; the
Makefile's test targets call it). Screenshots go to screenshots/dbt_docs/ (git-ignored)."""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.sync_api import Page

from opsmetrics import PROJECT_DIR
from opsmetrics.browser import chromium
from opsmetrics.dbt_invoke import run_dbt

SCREENSHOTS = PROJECT_DIR / "screenshots" / "dbt_docs"
MART = "model.opsmetrics.fct_mrr_monthly"
EXPOSURE = "exposure.opsmetrics.bi_kpi_dashboard"


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """No access log on the test output."""


@pytest.fixture(scope="module")
def docs_url(tiny_warehouse: Path) -> Iterator[str]:
    """`dbt docs generate` on the tiny warehouse, served from target/ on a free port."""
    run_dbt(["docs", "generate"])
    handler = functools.partial(QuietHandler, directory=str(PROJECT_DIR / "target"))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/index.html"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def page(docs_url: str) -> Iterator[Page]:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with chromium() as browser:
        yield browser.new_page(viewport={"width": 1400, "height": 1000})


def lineage_node_ids(page: Page) -> list[str]:
    """The node ids cytoscape draws in the lineage panel (a canvas, so asked from JS)."""
    page.wait_for_function(
        "() => { const c = document.querySelector('#cy');"
        " return c && c._cyreg && c._cyreg.cy"
        " && c._cyreg.cy.nodes().some(n => n.visible() && n.id().startsWith('source.')); }",
        timeout=60_000,
    )
    return page.evaluate(
        "() => document.querySelector('#cy')._cyreg.cy.nodes()"
        ".filter(n => n.visible()).map(n => n.id())"
    )


def test_mart_page_shows_description_columns_and_kpi_formula(page: Page, docs_url: str):
    page.goto(f"{docs_url}#!/model/{MART}", wait_until="networkidle")
    page.get_by_text("Company-wide monthly revenue KPIs").first.wait_for(timeout=60_000)
    columns = page.locator(".table").filter(has_text="mrr_amount").first
    columns.wait_for()
    for column in ("mrr_amount", "arr_amount", "logo_churn_rate"):
        assert page.get_by_text(column, exact=True).count() >= 1, column
    page.get_by_text("mrr_amount", exact=True).first.click()  # expands the column's doc
    formula = page.get_by_text("billing_interval_months").filter(visible=True).first
    formula.wait_for(timeout=30_000)
    assert formula.is_visible()
    page.screenshot(path=str(SCREENSHOTS / "fct_mrr_monthly.png"), full_page=True)


def test_lineage_graph_runs_from_raw_sources_through_marts_to_the_exposure(
    page: Page, docs_url: str
):
    page.goto(f"{docs_url}#!/exposure/{EXPOSURE}", wait_until="networkidle")
    page.get_by_text("KPI dashboard in Superset").first.wait_for(timeout=60_000)
    page.locator(
        "[data-original-title='View Lineage Graph'], [title='View Lineage Graph']"
    ).first.click()
    # Full screen selects +exposure: every ancestor, back to the raw sources.
    page.locator("[data-original-title='View Fullscreen'], [title='View Fullscreen']").first.click()
    page.wait_for_function(
        "() => Array.from(document.querySelectorAll('input'))"
        ".some(i => i.value === '+exposure:bi_kpi_dashboard')",
        timeout=60_000,
    )
    nodes = lineage_node_ids(page)
    page.screenshot(path=str(SCREENSHOTS / "lineage_bi_kpi_dashboard.png"))
    assert EXPOSURE in nodes
    assert MART in nodes
    assert any(n.startswith("source.opsmetrics.") for n in nodes), nodes
    assert any(n.startswith("model.opsmetrics.stg_") for n in nodes), nodes
