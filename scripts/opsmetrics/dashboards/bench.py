"""`opsmetrics bench dashboards`: how long each page takes to render in the browser, warm,
on the published snapshot (OPSMETRICS_PUBLISHED_PATH) of a warehouse built at the scale
named, with its metric tables exported and published."""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path

from playwright.sync_api import Page

from opsmetrics.bench import _machine_line, _result, record
from opsmetrics.browser import chromium
from opsmetrics.dashboards.audiences import REGISTRY
from opsmetrics.dashboards.data import DataUnavailable, Source
from opsmetrics.dashboards.serve import running_app

LAST_SECTION = "Firing alerts"
STARTING_PAGE, STARTING_TITLE = "", "opsmetrics dashboards"
# Drawn: the page's title and last section are shown, its cards have values, and every
# Vega-Lite chart on it (at least `charts`) has drawn its marks.
DRAWN = """([title, section, charts]) => {
    const has = (tag, text) =>
        [...document.querySelectorAll(tag)].some(node => node.innerText.includes(text));
    const figures = [...document.querySelectorAll('[data-testid="stVegaLiteChart"]')];
    return has("h1", title) && has("h3", section)
        && document.querySelectorAll('[data-testid="stMetricValue"]').length > 0
        && figures.length >= charts
        && figures.every(figure => figure.querySelector(".marks") !== null);
}"""


class BenchError(Exception):
    """The published snapshot is not ready for the benchmark."""


def _wait_drawn(page: Page, title: str, charts: int) -> None:
    page.wait_for_function(DRAWN, arg=[title, LAST_SECTION, charts], timeout=120_000, polling=50)


def render_seconds(page: Page, url: str, title: str, charts: int) -> float:
    """Seconds from loading `url` (a new document: the app starts again in the browser)
    until the page is drawn."""
    start = time.perf_counter()
    page.goto(url)
    _wait_drawn(page, title, charts)
    return time.perf_counter() - start


def navigation_seconds(page: Page, name: str, title: str, charts: int) -> float:
    """Seconds from clicking the page's link in the app's sidebar (the app already open in
    the browser, as a user moves between pages) until the page is drawn."""
    start = time.perf_counter()
    page.locator(f'[data-testid="stSidebarNav"] a[href$="/{name}"]').click()
    _wait_drawn(page, title, charts)
    return time.perf_counter() - start


def bench_dashboards(scale: str = "medium", repeats: int = 5, doc: Path | None = None) -> dict:
    """Serve the app on the published snapshot, load each page once (cold), then
    `repeats` times as a new document (reload) and `repeats` times through the app's
    sidebar (navigation); record the cold time and each warm median and maximum."""
    source = Source.for_target("duckdb")
    try:
        available = source.tables()
    except DataUnavailable as error:
        raise BenchError(str(error)) from error
    missing = sorted(
        f"metrics.{table}"
        for audience in REGISTRY.values()
        for table in audience.all_tables()
        if f"metrics.{table}" not in available
    )
    if missing:
        raise BenchError(
            f"{source.describe()} lacks {', '.join(missing)}: run `opsmetrics export-metrics` "
            "and `opsmetrics publish` first"
        )
    pages: dict[str, dict] = {}
    assert source.path is not None
    with running_app(source.path) as url, chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        start = f"{url}/{STARTING_PAGE}"
        for name, audience in REGISTRY.items():
            title, charts = f"{audience.title} dashboard", audience.trend_chart_count()
            cold = render_seconds(page, f"{url}/{name}", title, charts)
            reloads = [render_seconds(page, f"{url}/{name}", title, charts) for _ in range(repeats)]
            navigations = []
            for _ in range(repeats):
                page.goto(start)
                page.get_by_role("heading", name=STARTING_TITLE).wait_for(timeout=120_000)
                navigations.append(navigation_seconds(page, name, title, charts))
            pages[name] = {
                "cold_seconds": round(cold, 2),
                "warm_median_seconds": round(statistics.median(reloads), 2),
                "warm_max_seconds": round(max(reloads), 2),
                "navigation_median_seconds": round(statistics.median(navigations), 2),
                "navigation_max_seconds": round(max(navigations), 2),
            }
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    result = _result("dashboards", scale, pages=pages, repeats=repeats, load_average=load)
    record(result, doc, render=dashboards_section)
    return result


def dashboards_section(result: dict) -> str:
    lines = [
        f"## dashboards, scale {result['scale']}",
        "",
        f"Run {result['date']}: `opsmetrics bench dashboards` serves the app on the "
        "published snapshot of the built warehouse and loads each page in Debian's "
        "chromium through Playwright, until the page is drawn: its title and last section "
        "shown, its cards' values and every chart's marks. Cold: the first load of "
        f"the page after the server started. Reload: {result['repeats']} loads of the page's "
        "URL as a new document (reads cached for the page's refresh interval; the app's "
        f"JavaScript starts again). Navigation: {result['repeats']} clicks on the page's "
        "link in the sidebar from the start page, the app already open. Target: ≤ 2 s "
        f"warm. Measured while other jobs ran: load average {result['load_average']} "
        "(1, 5, 15 min) on 2 cores at the end of the run.",
        "",
        "| page | cold | reload median | reload max | navigation median | navigation max |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, timing in result["pages"].items():
        lines.append(
            f"| {name} | {timing['cold_seconds']} s | {timing['warm_median_seconds']} s | "
            f"{timing['warm_max_seconds']} s | {timing['navigation_median_seconds']} s | "
            f"{timing['navigation_max_seconds']} s |"
        )
    lines += ["", _machine_line(result)]
    return "\n".join(lines)
