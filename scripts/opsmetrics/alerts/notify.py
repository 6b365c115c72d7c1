"""Deliver pending notifications through apprise.

Each channel's apprise URL comes from the environment variable `alerts/policies.yml`
names (read, never written, never logged or stored). A delivery is tried `attempts`
times; one that still fails stays `pending` with the attempt count and a short reason,
and is tried again by the next run. Messages carry metric names, slices (services,
plans, channels), values and times only: never customer or user data.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import apprise

from opsmetrics.alerts.policies import Policies
from opsmetrics.alerts.store import SCHEMA, records
from opsmetrics.alerts.warehouse import Warehouse


@dataclass
class DeliveryReport:
    sent: int = 0
    failures: dict[str, str] = field(default_factory=dict)
    """Channel → why its deliveries are still pending (no URL or the channel's secret)."""
    pending: dict[str, int] = field(default_factory=dict)


@contextmanager
def _quiet_apprise() -> Iterator[None]:
    """Apprise logs failures with (masked) URLs; keep the command's output to its own
    report. The logger's level is restored afterwards."""
    logger = logging.getLogger("apprise")
    level = logger.level
    logger.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        logger.setLevel(level)


def _send(url: str, title: str, body: str, attach: Path | None = None) -> bool:
    sender = apprise.Apprise()
    if not sender.add(url):
        raise ValueError("not a valid apprise URL")
    return bool(
        sender.notify(
            title=title,
            body=body,
            body_format=apprise.NotifyFormat.TEXT,
            attach=str(attach) if attach else None,
        )
    )


def deliver(
    warehouse: Warehouse,
    policies: Policies,
    environ: Mapping[str, str],
    sleep: Callable[[float], None] = time.sleep,
) -> DeliveryReport:
    """Try every pending notification once per run (up to `attempts` tries each)."""
    report = DeliveryReport()
    if not warehouse.exists(SCHEMA, "alert_notifications"):
        return report
    pending = records(
        warehouse.frame(
            f"select * from {SCHEMA}.alert_notifications where status = 'pending' "
            "order by created_at, fingerprint, channel"
        )
    )
    with _quiet_apprise():
        for message in pending:
            channel = message["channel"]
            error = _deliver_one(message, policies, environ, sleep)
            tries = policies.attempts if error else message.get("_tries", 1)
            _record(warehouse, message, error, tries)
            if error:
                report.failures[channel] = error
                report.pending[channel] = report.pending.get(channel, 0) + 1
            else:
                report.sent += 1
    return report


def _deliver_one(
    message: dict, policies: Policies, environ: Mapping[str, str], sleep: Callable[[float], None]
) -> str | None:
    """None when delivered, else why not (never the URL)."""
    variable = policies.channels[message["channel"]].env
    url = environ.get(variable or "", "")
    if not url:
        return f"{variable} is not set"
    for attempt in range(1, policies.attempts + 1):
        try:
            if _send(url, message["title"], message["body"], message.get("attach")):
                message["_tries"] = attempt
                return None
        except ValueError:
            return f"{variable} does not hold a valid apprise URL"
        if attempt < policies.attempts:
            sleep(policies.retry_seconds * attempt)
    return f"delivery failed {policies.attempts} times"


def send_now(
    policies: Policies,
    channel: str,
    title: str,
    body: str,
    environ: Mapping[str, str],
    attach: Path | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> str | None:
    """Send one message through `channel` now, outside the alert lifecycle (nothing is
    recorded; scheduled KPI reports use it): None when delivered, else why not (never the
    URL)."""
    if channel not in policies.channels:
        return f"alerts/policies.yml has no channel {channel!r}"
    message = {"channel": channel, "title": title, "body": body, "attach": attach}
    with _quiet_apprise():
        return _deliver_one(message, policies, environ, sleep)


def _record(warehouse: Warehouse, message: dict, error: str | None, tries: int) -> None:
    sent_at = None if error else datetime.now(UTC).replace(tzinfo=None)
    warehouse.execute(
        f"update {SCHEMA}.alert_notifications set status = {{p}}, attempts = attempts + {{p}}, "
        "last_error = {p}, sent_at = {p} "
        "where fingerprint = {p} and first_seen_at = {p} and channel = {p} "
        "and notification_kind = {p} and created_at = {p}",
        [
            "pending" if error else "sent",
            tries,
            error,
            sent_at,
            message["fingerprint"],
            message["first_seen_at"],
            message["channel"],
            message["notification_kind"],
            message["created_at"],
        ],
    )
    warehouse.commit()
