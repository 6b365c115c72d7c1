"""`opsmetrics report`: a self-contained HTML file (opens without network, holds the KPI
values) and a PDF printed by Debian's chromium; bad input is exit code 2."""

from __future__ import annotations

import email
import email.policy
import re
import socket
from pathlib import Path

import duckdb
import pytest
from conftest import ALERT_AND_FORECAST_ROWS, Mailbox
from rich.console import Console
from typer.testing import CliRunner

from opsmetrics.browser import chromium
from opsmetrics.cli import app
from opsmetrics.dashboards.data import Source
from opsmetrics.dashboards.report import write_report
from opsmetrics.dashboards.scorecard import format_value
from opsmetrics.dashboards.terminal import print_kpi_scorecard


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
    # the last month end, horizon 92: 42000 + 92 * 100, ± 2 * 500 (ALERT_AND_FORECAST_ROWS)
    assert "MRR on 2025-09-30: $51,200 (80 %: $50,200 to $52,200)" in text
    assert (
        "No forecast band for Revenue, Logo churn rate %: forecasts.metric_forecasts holds no "
        "successful forecast of their total at month grain." in text
    )


def test_the_html_report_opens_and_draws_its_charts_without_network(
    snapshot: Path, tmp_path
) -> None:
    path = write_report("operational", "2025-06", out=tmp_path / "operational.html")
    text = path.read_text()
    assert not re.search(r"<(script|img|iframe|link|object|embed)\b|@import|url\(", text)
    # No address but the SVG namespaces (names, never fetched).
    addresses = set(re.findall(r"(?:https?:)?//[\w.-]+[^\s\"'<>)]*", text))
    assert addresses <= {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}
    requests: list[str] = []
    with chromium() as browser:
        page = browser.new_page()
        page.on("request", lambda request: requests.append(request.url))
        page.route("http*://**/*", lambda route: route.abort())
        page.goto(path.as_uri())
        charts = page.locator(".chart > svg")
        titles = [
            charts.nth(i).locator(".role-title-text text").first.text_content()
            for i in range(charts.count())
        ]
        lines = page.locator(".chart > svg .mark-line path").count()
    # 30 days daily and 13 months monthly of error rate, p95, uptime: the pages' specs.
    assert titles == ["Error rate %", "Latency p95 (ms)", "Uptime %"] * 2
    assert lines >= 6
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
    # Without --period: the last month ended by the data's as-of stamp (2025-07-01 00:00).
    latest = runner.invoke(app, ["report", "--audience", "growth", "--out", str(out)])
    assert latest.exit_code == 0, latest.output
    assert "<h1>Growth KPI report, 2025-06</h1>" in out.read_text()
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


def email_url(port: int) -> str:
    return f"mailto://127.0.0.1:{port}?from=reports@ops.example.org&to=board@ops.example.org"


def test_report_email_goes_through_the_alerts_email_channel_with_the_report_attached(
    snapshot: Path, tmp_path: Path, smtp: tuple[Mailbox, int]
) -> None:
    mailbox, port = smtp
    out = tmp_path / "executive.html"
    result = CliRunner().invoke(
        app,
        ["report", "--audience", "executive", "--period", "2025-06", "--out", str(out), "--email"],
        env={"OPSMETRICS_ALERT_EMAIL_URL": email_url(port)},
    )
    assert result.exit_code == 0, result.output
    assert f"wrote {out} and e-mailed it" in " ".join(result.output.split())
    (raw,) = mailbox.messages
    message = email.message_from_string(raw, policy=email.policy.default)
    assert message["Subject"] == "Executive KPI report, 2025-06"
    assert "board@ops.example.org" in message["To"]
    with duckdb.connect(str(snapshot), read_only=True) as connection:
        (mrr,) = connection.execute(
            "select mrr from metrics.executive_monthly where metric_time__month = '2025-06-01'"
        ).fetchone()
    body = message.get_body(("plain",)).get_content()
    assert f"- MRR: {format_value(mrr, 'USD')} (target $50,000, " in body
    assert "Firing alerts: 1." in body
    (attachment,) = message.iter_attachments()
    assert attachment.get_filename() == "executive.html"
    assert attachment.get_payload(decode=True) == out.read_bytes()


def test_report_email_without_a_channel_or_a_server_keeps_the_file_and_says_why(
    snapshot: Path, tmp_path: Path
) -> None:
    out = tmp_path / "executive.html"
    arguments = ["report", "--audience", "executive", "--period", "2025-06", "--out", str(out)]
    unset = CliRunner().invoke(
        app, [*arguments, "--email"], env={"OPSMETRICS_ALERT_EMAIL_URL": None}
    )
    assert unset.exit_code == 2, unset.output
    assert "not e-mailed: set OPSMETRICS_ALERT_EMAIL_URL" in " ".join(unset.output.split())
    assert out.exists() and "Traceback" not in unset.output
    out.unlink()
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    down = CliRunner().invoke(
        app, [*arguments, "--email"], env={"OPSMETRICS_ALERT_EMAIL_URL": email_url(closed)}
    )
    assert down.exit_code == 1, down.output
    assert "not e-mailed: delivery failed 3 times" in " ".join(down.output.split())
    assert out.exists() and "Traceback" not in down.output


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


def test_a_report_without_published_forecasts_or_alerts_says_so(
    published_snapshot: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPSMETRICS_PUBLISHED_PATH", str(published_snapshot))
    text = write_report("executive", "2025-06", out=tmp_path / "executive.html").read_text()
    assert "No forecast band: forecasts.metric_forecasts is not in the published data." in text
    assert "No alerts evaluated yet" in text
    assert text.count('<div class="chart"><svg') == 3  # MRR, revenue, logo churn
