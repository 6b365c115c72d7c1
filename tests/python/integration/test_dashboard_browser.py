"""The running dashboards in Debian's chromium (Playwright): every page loads with its
charts and numbers and no error element, and nothing on it is wider than its column or
the window; a company name with a <script> does not run. Screenshots go to
target/dashboard-screenshots/ (ignored)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from conftest import ALERT_AND_FORECAST_ROWS
from playwright.sync_api import Page

from opsmetrics import PROJECT_DIR
from opsmetrics.browser import chromium
from opsmetrics.dashboards.audiences import REGISTRY
from opsmetrics.dashboards.bench import DRAWN, LAST_SECTION
from opsmetrics.dashboards.scorecard import format_value
from opsmetrics.dashboards.serve import running_app

SCREENSHOTS = PROJECT_DIR / "target" / "dashboard-screenshots"
MARKER = "__opsmetricsInjected"
CHART = '[data-testid="stVegaLiteChart"]'
# Every drawn element of the page's body whose box must stay inside the column (or the
# main block) that holds it and inside the window: charts and what Vega drew in them,
# tables, dataframes, cards.
OVERFLOW = """() => {
    const main = document.querySelector('[data-testid="stMainBlockContainer"]');
    const window_right = document.documentElement.clientWidth;
    const selectors = [
        '[data-testid="stVegaLiteChart"]', '[data-testid="stVegaLiteChart"] .marks',
        '[data-testid="stElementContainer"]', '[data-testid="stDataFrame"]',
        '[data-testid="stTable"]', '[data-testid="stMetric"]',
    ];
    const found = [];
    for (const element of main.querySelectorAll(selectors.join(', '))) {
        const box = element.getBoundingClientRect();
        if (box.width === 0) continue;
        const holder = element.parentElement.closest('[data-testid="stColumn"]') || main;
        const bounds = holder.getBoundingClientRect();
        const right = Math.min(bounds.right, window_right);
        if (box.left < bounds.left - 1 || box.right > right + 1) {
            const chart = element.closest('[data-testid="stVegaLiteChart"]');
            const name = element.getAttribute('data-testid') || element.className.baseVal
                || element.className;
            found.push(`${name}${chart ? ' (chart)' : ''}: ${Math.round(box.left)}-`
                + `${Math.round(box.right)} px outside ${Math.round(bounds.left)}-`
                + `${Math.round(right)} px`);
        }
    }
    return found;
}"""


@pytest.fixture(scope="module")
def browser_snapshot(published_snapshot: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("browser") / "published.duckdb"
    path.write_bytes(published_snapshot.read_bytes())
    with duckdb.connect(str(path)) as connection:
        for statement in ALERT_AND_FORECAST_ROWS:
            connection.execute(statement)
    return path


@pytest.fixture(scope="module")
def dashboards_url(browser_snapshot: Path) -> Iterator[str]:
    with running_app(browser_snapshot) as url:
        yield url


@pytest.fixture(scope="module")
def page(dashboards_url: str) -> Iterator[Page]:
    with chromium() as browser:
        yield browser.new_page(viewport={"width": 1400, "height": 1000})


def load(page: Page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector('[data-testid="stMetricValue"]', timeout=60_000)
    page.wait_for_selector(f"{CHART} .marks", timeout=60_000)
    page.wait_for_load_state("networkidle")


def test_the_start_page_links_every_audience(page: Page, dashboards_url: str) -> None:
    page.goto(dashboards_url)
    page.wait_for_selector('[data-testid="stPageLink"]', timeout=60_000)
    links = page.locator('[data-testid="stPageLink"] a')
    hrefs = {link.get_attribute("href").rstrip("/").rsplit("/", 1)[-1] for link in links.all()}
    assert hrefs == set(REGISTRY)


@pytest.mark.parametrize("name", list(REGISTRY))
def test_every_page_loads_with_charts_numbers_and_no_error(
    name: str, page: Page, dashboards_url: str, browser_snapshot: Path
) -> None:
    audience = REGISTRY[name]
    load(page, f"{dashboards_url}/{name}")
    with duckdb.connect(str(browser_snapshot), read_only=True) as connection:
        headline = audience.cards[0]
        (value,) = connection.execute(
            f"select {headline} from metrics.{audience.card_table} where {headline} is not null "
            f"order by {audience.time_column} desc limit 1"
        ).fetchone()
    from opsmetrics.dashboards.scorecard import kpis_by_name
    from opsmetrics.semantic import load_manifest

    unit = str(kpis_by_name(load_manifest())[headline].meta["unit"])
    values = page.locator('[data-testid="stMetricValue"]').all_inner_texts()
    assert format_value(value, unit) in values
    assert page.locator(CHART).count() >= audience.trend_chart_count()
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.get_by_text("Page not found").count() == 0
    assert page.get_by_text(f"{audience.title} dashboard").count() >= 1
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    # The whole page: Streamlit scrolls inside stMain, so the window grows to its height.
    height = page.evaluate("document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    page.set_viewport_size({"width": 1400, "height": max(height, 1000)})
    page.wait_for_timeout(500)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))
    page.set_viewport_size({"width": 1400, "height": 1000})


@pytest.mark.parametrize("width", [1400, 1000])
@pytest.mark.parametrize("name", list(REGISTRY))
def test_nothing_on_a_page_is_wider_than_its_column_or_the_window(
    name: str, width: int, page: Page, dashboards_url: str
) -> None:
    audience = REGISTRY[name]
    page.set_viewport_size({"width": width, "height": 1000})
    try:
        load(page, f"{dashboards_url}/{name}")
        # Every chart down to the last section drawn, then sized to its container.
        drawn = [f"{audience.title} dashboard", LAST_SECTION, audience.trend_chart_count()]
        page.wait_for_function(DRAWN, arg=drawn, timeout=60_000)
        page.wait_for_timeout(500)
        assert page.evaluate(OVERFLOW) == []
    finally:
        page.set_viewport_size({"width": 1400, "height": 1000})


def test_a_script_in_a_company_name_is_shown_as_text_and_never_runs(
    page: Page, dashboards_url: str
) -> None:
    load(page, f"{dashboards_url}/executive")
    page.wait_for_selector('[data-testid="stTable"]', timeout=60_000)
    table = page.locator('[data-testid="stTable"]').inner_text()
    assert "<script>window.__opsmetricsInjected = true</script> Labs" in table
    assert page.evaluate(f"typeof window.{MARKER}") == "undefined"
    assert page.locator('[data-testid="stTable"] script').count() == 0
