"""`opsmetrics alerts` end to end on the tiny warehouse: evaluate → alert rows →
notifications delivered to real receivers on 127.0.0.1 (an aiosmtpd SMTP server and an
HTTP server taking Slack-, PagerDuty-, SMS-gateway- and webhook-format payloads).

Each test works on its own copy of a tiny warehouse whose metric tables were exported
once for this module."""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import duckdb
import psycopg2
import pytest
from conftest import Mailbox, execute_on, fetch_rows, use_warehouse
from typer.testing import CliRunner

from opsmetrics.cli import app
from opsmetrics.dbt_invoke import run_dbt
from opsmetrics.demo import evaluate_alerts
from opsmetrics.semantic import export_metrics

AS_OF = "2025-07-01T00:00"
SLACK_SECRET = "T000-slack-secret"


@pytest.fixture(autouse=True)
def _back_to_the_tiny_warehouse(tiny_warehouse: Path) -> Iterator[None]:
    """Tests here point dbt and MetricFlow at copies; later modules expect the shared one."""
    yield
    use_warehouse(tiny_warehouse)


@pytest.fixture
def warehouse_copy(tiny_metric_tables: Path, tmp_path: Path) -> Iterator[Path]:
    """A copy of the tiny warehouse with its metric tables, pointed at for the test."""
    path = tmp_path / "warehouse.duckdb"
    shutil.copy(tiny_metric_tables, path)
    use_warehouse(path)
    yield path


class Receiver(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[str, dict]]]

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        body = self.rfile.read(length).decode()
        path = self.path.split("?")[0]
        if path.startswith("/fail"):
            self.send_response(500)
            self.end_headers()
            return
        self.received.append((path, json.loads(body) if body else {}))
        reply = {"result": {"message_id": 1, "status": "ok"}} if "jsonrpc" in path else {}
        data = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture
def http() -> Iterator[tuple[list[tuple[str, dict]], int]]:
    received: list[tuple[str, dict]] = []
    handler = type("Handler", (Receiver,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield received, server.server_address[1]
    server.shutdown()
    server.server_close()


def channel_env(smtp_port: int, http_port: int, slack_path: str = "slack") -> dict[str, str]:
    base = f"json://127.0.0.1:{http_port}"
    drop = ":title=&:version=&:attachments=&:type="
    return {
        "OPSMETRICS_ALERT_EMAIL_URL": (
            f"mailto://127.0.0.1:{smtp_port}?from=alerts@ops.example.org&to=oncall@ops.example.org"
        ),
        # Slack's incoming-webhook body {"text": …}
        "OPSMETRICS_ALERT_SLACK_URL": f"{base}/{slack_path}/{SLACK_SECRET}?:message=text&{drop}",
        # PagerDuty's generic events body {"service_key", "event_type", "description"}
        "OPSMETRICS_ALERT_PAGERDUTY_URL": (
            f"{base}/pagerduty?:message=description&{drop}&:event_type=trigger"
            "&:service_key=pd-test-key"
        ),
        # An on-premise SMS gateway (SMSEagle's JSON-RPC API)
        "OPSMETRICS_ALERT_SMS_URL": f"smseagle://sms-token@127.0.0.1:{http_port}/+15550100999",
        "OPSMETRICS_ALERT_WEBHOOK_URL": f"{base}/webhook",
    }


@pytest.fixture
def policies(tmp_path: Path) -> Path:
    """The shipped policies without the pause between retries."""
    text = (Path(__file__).parents[3] / "alerts" / "policies.yml").read_text()
    path = tmp_path / "policies.yml"
    path.write_text(text.replace("retry_seconds: 1", "retry_seconds: 0"))
    return path


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["alerts", *args], env=env or {})
    return result.exit_code, result.output


def evaluate_quietly(policies: Path, as_of: str = AS_OF) -> None:
    """`alerts evaluate --no-notify` as of `as_of`; the test fails with its output unless it
    succeeds."""
    code, output = run("evaluate", "--as-of", as_of, "--no-notify", "--policies", str(policies))
    assert code == 0, output


def test_evaluate_records_alerts_and_delivers_them_to_every_local_channel(
    warehouse_copy: Path, smtp: tuple[Mailbox, int], http: tuple[list, int], policies: Path
) -> None:
    mailbox, smtp_port = smtp
    received, http_port = http
    code, output = run(
        "evaluate", "--as-of", AS_OF, "--policies", str(policies),
        env=channel_env(smtp_port, http_port),
    )  # fmt: skip
    assert code == 0, output
    events = fetch_rows(
        warehouse_copy,
        "select rule_kind, metric, severity, state, observed_value, upper_bound "
        "from alerts.alert_events",
    )
    assert events and {state for *_, state, _, _ in events} == {"firing"}
    churn = [e for e in events if e[1] == "logo_churn_rate" and e[0] == "threshold"]
    assert churn, "the seed's churn example must be evaluated"
    status = fetch_rows(warehouse_copy, "select distinct status from alerts.alert_notifications")
    assert status == [("sent",)]
    paths = {path.split("/")[1] for path, _ in received}
    assert paths == {"slack", "pagerduty", "jsonrpc"}  # the webhook is for escalations
    slack = [body for path, body in received if path.startswith("/slack")]
    assert all(set(body) == {"text"} for body in slack)
    pagerduty = [body for path, body in received if path.startswith("/pagerduty")]
    assert all(body["event_type"] == "trigger" and body["description"] for body in pagerduty)
    sms = [body for path, body in received if path.startswith("/jsonrpc")]
    assert all(body["method"] == "sms.send_sms" for body in sms)
    assert mailbox.messages and "Subject: [" in mailbox.messages[0]
    texts = [json.dumps(body) for _, body in received] + mailbox.messages
    for text in texts:  # no customer or user data in any message
        assert "cus_" not in text and "usr_" not in text and "-analytics.example" not in text
    assert SLACK_SECRET not in output
    code, output = run(
        "evaluate", "--as-of", "2025-07-01T04:00", "--policies", str(policies),
        env=channel_env(smtp_port, http_port),
    )  # fmt: skip
    assert code == 0, output
    webhook = [body for path, body in received if path.startswith("/webhook")]
    assert webhook and all(body["title"].startswith("[high] still firing") for body in webhook)


def test_evaluating_twice_fires_and_sends_nothing_new(
    warehouse_copy: Path, smtp: tuple[Mailbox, int], http: tuple[list, int], policies: Path
) -> None:
    env = channel_env(smtp[1], http[1])
    run("evaluate", "--as-of", AS_OF, "--policies", str(policies), env=env)
    before = fetch_rows(warehouse_copy, "select count(*) from alerts.alert_notifications")
    sent = len(http[0])
    code, output = run("evaluate", "--as-of", AS_OF, "--policies", str(policies), env=env)
    assert code == 0 and "0 new, 0 still firing, 0 resolved" in output
    assert fetch_rows(warehouse_copy, "select count(*) from alerts.alert_notifications") == before
    assert len(http[0]) == sent


def test_a_critical_alert_escalates_after_15_minutes_and_a_high_one_does_not(
    warehouse_copy: Path, policies: Path
) -> None:
    evaluate_quietly(policies)
    queued = (
        "select count(*) from alerts.alert_notifications where notification_kind = 'escalation'"
    )
    run("evaluate", "--as-of", "2025-07-01T00:10", "--no-notify", "--policies", str(policies))
    assert fetch_rows(warehouse_copy, queued) == [(0,)]
    run("evaluate", "--as-of", "2025-07-01T00:20", "--no-notify", "--policies", str(policies))
    escalated = fetch_rows(
        warehouse_copy,
        "select distinct severity, channel from alerts.alert_notifications "
        "where notification_kind = 'escalation'",
    )
    assert escalated and {severity for severity, _ in escalated} == {"critical"}
    assert {channel for _, channel in escalated} == {"pagerduty", "sms", "email", "slack"}
    open_critical = fetch_rows(
        warehouse_copy,
        "select count(*) from alerts.alert_events where severity = 'critical' and state = 'firing'",
    )[0][0]
    assert fetch_rows(warehouse_copy, queued)[0][0] == 4 * open_critical
    run("evaluate", "--as-of", "2025-07-01T00:25", "--no-notify", "--policies", str(policies))
    assert fetch_rows(warehouse_copy, queued)[0][0] == 4 * open_critical  # next one at 00:35


def test_an_acknowledged_critical_alert_stops_escalating_and_the_others_go_on(
    warehouse_copy: Path, policies: Path
) -> None:
    run("evaluate", "--as-of", AS_OF, "--no-notify", "--policies", str(policies))
    critical = [
        fingerprint
        for (fingerprint,) in fetch_rows(
            warehouse_copy,
            "select fingerprint from alerts.alert_events "
            "where severity = 'critical' and state = 'firing' order by fingerprint",
        )
    ]
    assert critical
    acked = critical[0]
    code, output = run("list")
    assert code == 0 and f"{acked}  critical" in output and "(acknowledged)" not in output
    code, output = run("ack", acked[:8], "--as-of", "2025-07-01T00:05", "--by", "oncall")
    assert code == 0 and "acknowledged critical" in output and acked in output
    code, output = run("ack", acked, "--as-of", "2025-07-01T00:06")
    assert code == 0 and "already acknowledged" in output
    assert fetch_rows(
        warehouse_copy,
        "select fingerprint, severity, acknowledged_by, acknowledged_at "
        "from alerts.alert_acknowledgements",
    ) == [(acked, "critical", "oncall", datetime(2025, 7, 1, 0, 5))]
    run("evaluate", "--as-of", "2025-07-01T00:20", "--no-notify", "--policies", str(policies))
    escalated = fetch_rows(
        warehouse_copy,
        "select fingerprint, count(*) from alerts.alert_notifications "
        "where notification_kind = 'escalation' group by fingerprint order by fingerprint",
    )
    assert escalated == [(fingerprint, 4) for fingerprint in critical[1:]]
    assert "(acknowledged)" in run("list")[1]


def test_acknowledging_an_unknown_or_malformed_fingerprint_fails_and_writes_nothing(
    warehouse_copy: Path, policies: Path
) -> None:
    code, output = run("ack", "0123456789")
    assert code == 2 and output.strip() == "alerts: no firing alert has fingerprint 0123456789"
    run("evaluate", "--as-of", AS_OF, "--no-notify", "--policies", str(policies))
    for bad in ("abc", "not-a-fingerprint", "ffffffffffffffff"):
        code, output = run("ack", bad)
        assert code == 2 and len(output.strip().splitlines()) == 1, output
        assert "Traceback" not in output
    code, output = run("ack", "0123456789", "--as-of", "yesterday")
    assert code == 2 and "is not an ISO date" in output
    assert fetch_rows(warehouse_copy, "select count(*) from alerts.alert_acknowledgements") == [
        (0,)
    ]


def test_a_cleared_alert_resolves_once_with_one_resolved_message(
    warehouse_copy: Path, policies: Path
) -> None:
    evaluate_quietly(policies)
    event = "select state, resolved_at from alerts.alert_events where rule_id = " \
        "'registry_threshold__revenue'"  # fmt: skip
    assert fetch_rows(warehouse_copy, event) == [("firing", None)]
    execute_on(
        warehouse_copy,
        "update metrics.alerting_daily set revenue = 1000000 where metric_time__day = '2025-06-30'",
    )
    for as_of in ("2025-07-01T01:00", "2025-07-01T02:00"):
        evaluate_quietly(policies, as_of)
    state = fetch_rows(warehouse_copy, event)
    assert len(state) == 1 and state[0][0] == "resolved"
    assert str(state[0][1]) == "2025-07-01 01:00:00"
    resolved = fetch_rows(
        warehouse_copy,
        "select channel from alerts.alert_notifications n join alerts.alert_events e "
        "using (fingerprint, first_seen_at) "
        "where e.rule_id = 'registry_threshold__revenue' and notification_kind = 'resolved'",
    )
    assert sorted(channel for (channel,) in resolved) == ["email", "pagerduty", "sms"]


def test_a_missing_day_raises_a_no_data_alert(warehouse_copy: Path, policies: Path) -> None:
    execute_on(
        warehouse_copy, "delete from metrics.alerting_daily where metric_time__day = '2025-06-30'"
    )
    evaluate_quietly(policies)
    no_data = fetch_rows(
        warehouse_copy,
        "select metric, severity, window_start from alerts.alert_events "
        "where rule_kind = 'no_data' and metric = 'revenue'",
    )
    assert no_data and all(str(start) == "2025-06-30 00:00:00" for *_, start in no_data)
    assert {severity for _, severity, _ in no_data} == {"medium"}


def test_a_failing_channel_is_retried_reported_and_kept_pending(
    warehouse_copy: Path, smtp: tuple[Mailbox, int], http: tuple[list, int], policies: Path
) -> None:
    env = channel_env(smtp[1], http[1], slack_path="fail")
    code, output = run("evaluate", "--as-of", AS_OF, "--policies", str(policies), env=env)
    assert code == 1
    assert "channel slack:" in output and "pending (delivery failed 3 times)" in output
    assert SLACK_SECRET not in output
    pending = fetch_rows(
        warehouse_copy,
        "select distinct channel, attempts from alerts.alert_notifications "
        "where status = 'pending'",
    )
    assert pending == [("slack", 3)]
    code, output = run("notify", "--policies", str(policies), env=channel_env(smtp[1], http[1]))
    assert code == 0, output
    assert fetch_rows(
        warehouse_copy, "select count(*) from alerts.alert_notifications where status = 'pending'"
    ) == [(0,)]


def test_an_unset_channel_variable_is_reported_not_lost(
    warehouse_copy: Path, policies: Path
) -> None:
    code, output = run("evaluate", "--as-of", AS_OF, "--policies", str(policies))
    assert code == 1 and "OPSMETRICS_ALERT_EMAIL_URL is not set" in output
    assert fetch_rows(
        warehouse_copy, "select count(*) from alerts.alert_notifications where status = 'sent'"
    ) == [(0,)]


def test_a_malformed_rule_file_names_file_and_line_and_evaluates_nothing(
    warehouse_copy: Path, tmp_path: Path
) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "bad.yml").write_text(
        "rules:\n"
        "  - id: fine_rule\n"
        "    metric: mrr\n"
        "    grain: 30d\n"
        "    condition: {kind: threshold, op: '<', value: 1}\n"
        "    severity: high\n"
        "  - id: broken_rule\n"
        "    metric: mrr\n"
        "    grain: 2w\n"
        "    condition:\n"
        "      kind: threshold\n"
        "      op: '=>'\n"
        "      value: 1\n"
        "    severity: high\n"
    )
    code, output = run("evaluate", "--as-of", AS_OF, "--rules-dir", str(rules))
    assert code == 2
    assert f"{rules / 'bad.yml'}:9: rules.1.grain" in output
    assert f"{rules / 'bad.yml'}:12: rules.1.condition.op" in output
    assert "Traceback" not in output
    assert fetch_rows(
        warehouse_copy,
        "select count(*) from information_schema.tables where table_schema = 'alerts'",
    ) == [(0,)]


def test_a_forecast_crossing_within_the_horizon_raises_a_forecast_breach(
    warehouse_copy: Path, policies: Path
) -> None:
    execute_on(
        warehouse_copy,
        "create schema forecasts",
        "create table forecasts.threshold_crossings (metric varchar, slice_name varchar, "
        "slice_value varchar, threshold_kind varchar, threshold_value double, "
        "direction varchar, trained_until date, crossing_date date, "
        "crossing_date_earliest date, crossing_date_latest date, model varchar, "
        "run_at timestamp)",
        "insert into forecasts.threshold_crossings values "
        "('cpu_utilization', 'service', 'search', 'critical', 90, 'lower_is_better', "
        " '2025-06-30', '2025-07-13', '2025-07-09', '2025-07-20', 'ets', '2025-06-30 23:00'),"
        "('cpu_utilization', 'service', 'auth', 'critical', 90, 'lower_is_better', "
        " '2025-06-30', null, null, null, 'ets', '2025-06-30 23:00'),"
        "('cpu_utilization', 'service', 'billing', 'critical', 90, 'lower_is_better', "
        " '2025-06-30', '2025-09-30', '2025-08-30', '2025-10-30', 'ets', '2025-06-30 23:00'),"
        "('cpu_utilization', 'service', 'auth', 'critical', 90, 'lower_is_better', "
        " '2025-06-29', '2025-07-02', null, null, 'ets', '2025-06-29 23:00')",
    )
    evaluate_quietly(policies)
    breaches = fetch_rows(
        warehouse_copy,
        "select slice_value, severity, upper_bound, message from alerts.alert_events "
        "where rule_kind = 'forecast_breach'",
    )
    assert [(value, severity, bound) for value, severity, bound, _ in breaches] == [
        ("search", "high", 90.0)
    ]
    assert "in 12 days, on 2025-07-13 (95 % band 2025-07-09 to 2025-07-20)" in breaches[0][3]


def test_dry_run_writes_nothing(warehouse_copy: Path) -> None:
    code, output = run("evaluate", "--as-of", AS_OF, "--dry-run")
    assert code == 0 and "nothing written" in output and "logo_churn_rate" in output
    assert fetch_rows(
        warehouse_copy,
        "select count(*) from information_schema.tables where table_schema = 'alerts'",
    ) == [(0,)]


def test_kpi_within_band_flags_a_month_below_the_metrics_critical_uptime(
    tiny_warehouse: Path, tmp_path: Path
) -> None:
    """The generic test reads uptime_pct's critical threshold (99) from the registry."""
    path = tmp_path / "band.duckdb"
    shutil.copy(tiny_warehouse, path)
    use_warehouse(path)
    select = ["test", "--select", "fct_service_uptime_monthly,test_name:kpi_within_band"]

    def failures() -> int:
        result = run_dbt(select)
        return sum(int(r.failures or 0) for r in result.result.results)

    with duckdb.connect(str(path)) as connection:
        below = connection.execute(
            "select count(*) from marts.fct_service_uptime_monthly where uptime_pct < 99"
        ).fetchone()[0]
    assert failures() == below
    with duckdb.connect(str(path)) as connection:
        connection.execute(
            "update marts.fct_service_uptime_monthly set uptime_pct = 98.99 "
            "where uptime_pct >= 99 and service = 'auth'"
        )
        changed = connection.execute(
            "select count(*) from marts.fct_service_uptime_monthly where uptime_pct = 98.99"
        ).fetchone()[0]
    assert changed > 0 and failures() == below + changed


def test_the_demo_step_exports_evaluates_and_prints_the_alerts(
    tiny_warehouse: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "demo.duckdb"
    shutil.copy(tiny_warehouse, path)
    use_warehouse(path)
    evaluate_alerts(datetime(2025, 7, 1))
    printed = capsys.readouterr().out
    assert "alerts firing at 2025-07-01 00:00 UTC" in printed
    assert "logo_churn_rate" in printed and "recorded in alerts.alert_events" in printed
    assert fetch_rows(path, "select count(*) from alerts.alert_events")[0][0] > 0


@pytest.mark.postgres
def test_dry_run_on_postgres(tiny_postgres: dict) -> None:
    export_metrics(target="postgres")
    code, output = run("evaluate", "--as-of", AS_OF, "--dry-run", "--target", "postgres")
    assert code == 0, output
    assert "nothing written" in output and "logo_churn_rate" in output
    with psycopg2.connect(**tiny_postgres) as connection, connection.cursor() as cursor:
        cursor.execute("select count(*) from pg_namespace where nspname = 'alerts'")
        assert cursor.fetchone() == (0,)


@pytest.mark.postgres
def test_evaluate_acknowledge_and_escalate_on_postgres(tiny_postgres: dict, policies: Path) -> None:
    export_metrics(target="postgres")
    pg = ("--target", "postgres")
    evaluate = ("evaluate", "--no-notify", "--policies", str(policies), *pg)
    try:
        code, output = run(*evaluate, "--as-of", AS_OF)
        assert code == 0 and "notifications queued" in output, output
        code, output = run(*evaluate, "--as-of", AS_OF)
        assert "0 new, 0 still firing, 0 resolved" in output
        with psycopg2.connect(**tiny_postgres) as connection, connection.cursor() as cursor:
            cursor.execute(
                "select fingerprint from alerts.alert_events "
                "where severity = 'critical' and state = 'firing' order by fingerprint"
            )
            critical = [fingerprint for (fingerprint,) in cursor.fetchall()]
        assert critical
        code, output = run("ack", critical[0], "--as-of", "2025-07-01T00:05", *pg)
        assert code == 0 and "acknowledged critical" in output, output
        run(*evaluate, "--as-of", "2025-07-01T00:20")
        with psycopg2.connect(**tiny_postgres) as connection, connection.cursor() as cursor:
            cursor.execute(
                "select fingerprint, count(*) from alerts.alert_notifications "
                "where notification_kind = 'escalation' group by fingerprint order by 1"
            )
            assert cursor.fetchall() == [(fingerprint, 4) for fingerprint in critical[1:]]
    finally:
        with psycopg2.connect(**tiny_postgres) as connection, connection.cursor() as cursor:
            cursor.execute("drop schema if exists alerts cascade")
