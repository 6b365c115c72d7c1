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


class BenchError(Exception):
    """The published snapshot is not ready for the benchmark."""


def render_seconds(page: Page, url: str, charts: int) -> float:
    """Seconds from navigation until the page's script has drawn its last section and
    `charts` plotly charts."""
    start = time.perf_counter()
    page.goto(url)
    page.get_by_role("heading", name=LAST_SECTION).wait_for(timeout=120_000)
    page.wait_for_function(
        "n => document.querySelectorAll('.js-plotly-plot .main-svg').length >= n",
        arg=charts,
        timeout=120_000,
    )
    return time.perf_counter() - start


def bench_dashboards(scale: str = "medium", repeats: int = 5, doc: Path | None = None) -> dict:
    """Serve the app on the published snapshot, load each page once (cold), then
    `repeats` times (warm); record the cold time and the warm median and maximum."""
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
    pages = {}
    assert source.path is not None
    with running_app(source.path) as url, chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        for name, audience in REGISTRY.items():
            charts = audience.trend_chart_count()
            cold = render_seconds(page, f"{url}/{name}", charts)
            warm = [render_seconds(page, f"{url}/{name}", charts) for _ in range(repeats)]
            pages[name] = {
                "cold_seconds": round(cold, 2),
                "warm_median_seconds": round(statistics.median(warm), 2),
                "warm_max_seconds": round(max(warm), 2),
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
        "chromium through Playwright: from navigation until the page's last section and "
        f"its trend charts are drawn. One cold load, then {result['repeats']} warm loads "
        "(reads cached for the page's refresh interval). Target: ≤ 2 s warm. Measured "
        f"while other jobs ran: load average {result['load_average']} (1, 5, 15 min) on "
        "2 cores at the end of the run.",
        "",
        "| page | cold | warm median | warm max |",
        "|---|---:|---:|---:|",
    ]
    for name, timing in result["pages"].items():
        lines.append(
            f"| {name} | {timing['cold_seconds']} s | {timing['warm_median_seconds']} s | "
            f"{timing['warm_max_seconds']} s |"
        )
    lines += ["", _machine_line(result)]
    return "\n".join(lines)
