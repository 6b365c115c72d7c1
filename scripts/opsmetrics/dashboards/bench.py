"""`opsmetrics bench dashboards`: how long each page takes to render in the browser, warm,
on the warehouse at OPSMETRICS_DUCKDB_PATH (built at the scale named, metric tables
exported), published to a scratch snapshot."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import duckdb
from playwright.sync_api import Page, sync_playwright

from opsmetrics.bench import _machine_line, _result, record
from opsmetrics.dashboards.audiences import REGISTRY
from opsmetrics.dashboards.report import CHROMIUM_FLAGS
from opsmetrics.dashboards.serve import (
    app_environment,
    free_port,
    streamlit_command,
    wait_until_healthy,
)
from opsmetrics.settings import chromium_path, duckdb_path, project_dir

LAST_SECTION = "Firing alerts"


class BenchError(Exception):
    """The warehouse is not ready for the benchmark."""


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
    """Serve the app on a copy of the warehouse, load each page once (cold), then
    `repeats` times (warm); record the cold time and the warm median and maximum."""
    warehouse = duckdb_path()
    table = f"metrics.{REGISTRY['executive'].card_table}"
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        found = connection.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = 'metrics' and table_name = ?",
            [REGISTRY["executive"].card_table],
        ).fetchone()[0]
    if not found:
        raise BenchError(f"{warehouse} has no {table}: run `opsmetrics export-metrics` first")
    pages = {}
    with tempfile.TemporaryDirectory(prefix="opsmetrics-bench-dashboards-") as scratch:
        snapshot = Path(scratch) / "published.duckdb"
        shutil.copyfile(warehouse, snapshot)
        port = free_port()
        environment = {**app_environment("duckdb"), "OPSMETRICS_PUBLISHED_PATH": str(snapshot)}
        server = subprocess.Popen(
            streamlit_command(port),
            cwd=project_dir(),
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until_healthy(url, server)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=str(chromium_path()), args=CHROMIUM_FLAGS
                )
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                for name, audience in REGISTRY.items():
                    charts = len(audience.trends)
                    cold = render_seconds(page, f"{url}/{name}", charts)
                    warm = [render_seconds(page, f"{url}/{name}", charts) for _ in range(repeats)]
                    pages[name] = {
                        "cold_seconds": round(cold, 2),
                        "warm_median_seconds": round(statistics.median(warm), 2),
                        "warm_max_seconds": round(max(warm), 2),
                    }
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=30)
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    result = _result("dashboards", scale, pages=pages, repeats=repeats, load_average=load)
    record(result, doc, render=dashboards_section)
    return result


def dashboards_section(result: dict) -> str:
    lines = [
        f"## dashboards, scale {result['scale']}",
        "",
        f"Run {result['date']}: `opsmetrics bench dashboards` serves the app on a copy of the "
        "built warehouse (as the published snapshot) and loads each page in Debian's "
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
