"""`opsmetrics report`: a self-contained HTML file (opens without network, holds the KPI
values) and a PDF printed by Debian's chromium; bad input is exit code 2."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest
from conftest import ALERT_AND_FORECAST_ROWS
from playwright.sync_api import sync_playwright
from rich.console import Console
from typer.testing import CliRunner

from opsmetrics.cli import app
from opsmetrics.dashboards.data import Source
from opsmetrics.dashboards.report import CHROMIUM_FLAGS, write_report
from opsmetrics.dashboards.scorecard import format_value
from opsmetrics.dashboards.terminal import print_kpi_scorecard
from opsmetrics.settings import chromium_path


@pytest.fixture
def snapshot(snapshot_copy, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = snapshot_copy(*ALERT_AND_FORECAST_ROWS)
    monkeypatch.setenv("OPSMETRICS_PUBLISHED_PATH", str(path))
    return path


def test_the_html_report_holds_the_kpis_alerts_and_forecast(snapshot: Path, tmp_path) -> None:
    path = write_report("executive", "2025-06", out=tmp_path / "executive.html")
    text = path.read_text()
    with duckdb.connect(str(snapshot), read_only=True) as connection:
        june, may = connection.execute(
            "select mrr, logo_churn_rate, nps from metrics.executive_monthly "
            "where metric_time__month in ('2025-06-01', '2025-05-01') "
            "order by metric_time__month desc"
        ).fetchall()
    assert f'data-metric="mrr">{format_value(june[0], "USD")}<' in text
    assert f'data-metric="logo_churn_rate">{format_value(june[1], "percent")}<' in text
    assert f'data-metric="nps">{format_value(june[2], "score")}<' in text
    assert f'<td class="num">{format_value(may[0], "USD")}</td>' in text  # previous month
    assert "<h2>Biggest movers</h2>\n<ol>" in text
    assert "MRR below its critical floor &lt;b&gt;now&lt;/b&gt;" in text
    assert "NPS recovered" not in text  # resolved
    # horizon 30: 42000 + 30 * 100, ± 2 * 500 (rows of ALERT_AND_FORECAST_ROWS)
    assert "MRR on 2025-07-30: $45,000 (80 %: $44,000 to $46,000)" in text


def test_the_html_report_opens_and_draws_its_charts_without_network(
    snapshot: Path, tmp_path
) -> None:
    path = write_report("operational", "2025-06", out=tmp_path / "operational.html")
    text = path.read_text()
    assert not re.search(r"<(script|img|iframe)[^>]*\ssrc=|<link\b", text)
    requests: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(chromium_path()), args=CHROMIUM_FLAGS
        )
        try:
            page = browser.new_page()
            page.on("request", lambda request: requests.append(request.url))
            page.route("http*://**/*", lambda route: route.abort())
            page.goto(path.as_uri())
            page.wait_for_selector(".js-plotly-plot .main-svg", timeout=30_000)
            charts = page.locator(".js-plotly-plot").count()
        finally:
            browser.close()
    assert charts == 3
    assert [url for url in requests if not url.startswith("file:")] == []


def test_the_pdf_report_has_pages(snapshot: Path, tmp_path) -> None:
    path = write_report("executive", "2025-06", out=tmp_path / "executive.pdf", fmt="pdf")
    content = path.read_bytes()
    assert content.startswith(b"%PDF-")
    assert len(re.findall(rb"/Type\s*/Page[^s]", content)) >= 1


def test_report_command_writes_the_file_or_exits_2_on_bad_input(snapshot: Path, tmp_path) -> None:
    runner = CliRunner()
    out = tmp_path / "growth.html"
    ok = runner.invoke(
        app, ["report", "--audience", "growth", "--period", "2025-06", "--out", str(out)]
    )
    assert ok.exit_code == 0 and out.exists(), ok.output
    cases = {
        ("--audience", "executive", "--period", "2026-11"): "no data for 2026-11",
        ("--audience", "board", "--period", "2025-06"): "unknown audience 'board'",
        ("--audience", "executive", "--period", "11/2026"): "--period must be a month",
        ("--audience", "executive", "--period", "2025-06", "--format", "xls"): "--format",
        ("--audience", "executive", "--period", "2025-06", "--target", "x"): "unknown target",
    }
    for arguments, message in cases.items():
        result = runner.invoke(app, ["report", *arguments, "--out", str(tmp_path / "bad.html")])
        assert result.exit_code == 2, (arguments, result.output)
        assert message in " ".join(result.output.split()), result.output
    assert not (tmp_path / "bad.html").exists()


def test_report_without_a_snapshot_is_a_one_line_error(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPSMETRICS_PUBLISHED_PATH", str(tmp_path / "none.duckdb"))
    result = CliRunner().invoke(app, ["report", "--audience", "executive", "--period", "2025-06"])
    assert result.exit_code == 2
    assert "no published snapshot at" in result.output and "Traceback" not in result.output


def test_the_demo_scorecard_prints_value_target_and_status_of_the_executive_kpis(
    published_snapshot: Path,
) -> None:
    console = Console(record=True, width=120)
    print_kpi_scorecard(console, Source("duckdb", published_snapshot))
    output = console.export_text()
    with duckdb.connect(str(published_snapshot), read_only=True) as connection:
        (mrr,) = connection.execute(
            "select mrr from metrics.executive_monthly order by metric_time__month desc limit 1"
        ).fetchone()
    # MRR: target 50000, warning 40000, critical 30000, higher is better.
    expected_status = "Critical" if mrr <= 30000 else "Warning" if mrr <= 40000 else "OK"
    mrr_line = next(line for line in output.splitlines() if line.startswith("│ MRR "))
    cells = [cell.strip() for cell in mrr_line.strip("│").split("│")]
    assert cells[:4] == ["MRR", format_value(mrr, "USD"), "$50,000", expected_status]
    assert "http://127.0.0.1:8501" in output and "make dashboards" in output
