"""The alert tables and their state machine.

`alerts.alert_events` holds one row per alert episode (fingerprint + first_seen_at):
`firing` while the condition holds, `resolved` once an evaluation finds it cleared.
`alerts.alert_notifications` holds one row per channel and message (firing, escalation,
resolved) with its delivery state: `pending` until a channel accepted it, then `sent`.

`alerts.alert_acknowledgements` holds one row per acknowledgement of an episode (`opsmetrics
alerts ack`): an acknowledged episode is not escalated while its severity stays at or below
the acknowledged one; it still resolves with its "resolved" message.

`plan` turns one evaluation's findings and the open episodes into changes; `apply`
writes them. Evaluating again at the same time changes nothing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd

from opsmetrics.alerts.conditions import Outcome
from opsmetrics.alerts.policies import Policies
from opsmetrics.alerts.rules import SEVERITIES
from opsmetrics.alerts.warehouse import Warehouse

SCHEMA = "alerts"
EVENT_COLUMNS = {
    "fingerprint": "varchar",
    "rule_id": "varchar",
    "rule_kind": "varchar",
    "metric": "varchar",
    "slice_name": "varchar",
    "slice_value": "varchar",
    "grain": "varchar",
    "window_start": "timestamp",
    "window_end": "timestamp",
    "observed_value": "double precision",
    "expected_value": "double precision",
    "lower_bound": "double precision",
    "upper_bound": "double precision",
    "severity": "varchar",
    "state": "varchar",
    "message": "varchar",
    "first_seen_at": "timestamp",
    "last_seen_at": "timestamp",
    "resolved_at": "timestamp",
}
NOTIFICATION_COLUMNS = {
    "fingerprint": "varchar",
    "first_seen_at": "timestamp",
    "channel": "varchar",
    "notification_kind": "varchar",
    "severity": "varchar",
    "title": "varchar",
    "body": "varchar",
    "status": "varchar",
    "attempts": "integer",
    "last_error": "varchar",
    "created_at": "timestamp",
    "sent_at": "timestamp",
}
ACKNOWLEDGEMENT_COLUMNS = {
    "fingerprint": "varchar",
    "first_seen_at": "timestamp",
    "severity": "varchar",
    "acknowledged_by": "varchar",
    "note": "varchar",
    "acknowledged_at": "timestamp",
}
TABLES = {
    "alert_events": EVENT_COLUMNS,
    "alert_notifications": NOTIFICATION_COLUMNS,
    "alert_acknowledgements": ACKNOWLEDGEMENT_COLUMNS,
}
MIN_FINGERPRINT_PREFIX = 6
Episode = tuple[str, datetime]
"""(fingerprint, first_seen_at): one alert episode."""


class AcknowledgeError(ValueError):
    """Nothing (or more than one thing) to acknowledge; the message says which."""


@dataclass(frozen=True)
class Finding:
    """One rule's verdict on one slice at one evaluation."""

    rule_id: str
    rule_kind: str
    metric: str
    slice_name: str
    slice_value: str
    grain: str
    window_start: datetime
    window_end: datetime
    outcome: Outcome
    severity: str

    @property
    def fingerprint(self) -> str:
        key = "|".join(
            (self.rule_id, self.rule_kind, self.metric, self.slice_name, self.slice_value)
        )
        return hashlib.sha256(key.encode()).hexdigest()[:20]

    @property
    def message(self) -> str:
        where = "" if self.slice_value == "all" else f" [{self.slice_name}={self.slice_value}]"
        detail = self.outcome.detail or self.outcome.status
        return (
            f"{self.severity.upper()} {self.metric}{where} ({self.grain}, "
            f"{self.window_start:%Y-%m-%d %H:%M}): {detail} — rule {self.rule_id}"
        )


@dataclass
class Plan:
    """What one evaluation changes: new episodes, updated and resolved ones, messages."""

    new: list[dict[str, Any]] = field(default_factory=list)
    updated: list[dict[str, Any]] = field(default_factory=list)
    resolved: list[dict[str, Any]] = field(default_factory=list)
    notifications: list[dict[str, Any]] = field(default_factory=list)


def ensure_tables(warehouse: Warehouse) -> None:
    warehouse.execute(f"create schema if not exists {SCHEMA}")
    for name, columns in TABLES.items():
        body = ", ".join(f"{column} {kind}" for column, kind in columns.items())
        warehouse.execute(f"create table if not exists {SCHEMA}.{name} ({body})")


def open_events(warehouse: Warehouse) -> dict[str, dict[str, Any]]:
    """Firing episodes by fingerprint (empty when the tables do not exist yet)."""
    if not warehouse.exists(SCHEMA, "alert_events"):
        return {}
    frame = warehouse.frame(f"select * from {SCHEMA}.alert_events where state = 'firing'")
    return {row["fingerprint"]: row for row in records(frame)}


def last_notified(warehouse: Warehouse) -> dict[tuple[str, datetime], datetime]:
    """Latest notification time per episode (fingerprint, first_seen_at)."""
    if not warehouse.exists(SCHEMA, "alert_notifications"):
        return {}
    frame = warehouse.frame(
        f"select fingerprint, first_seen_at, max(created_at) as last_at "
        f"from {SCHEMA}.alert_notifications group by fingerprint, first_seen_at"
    )
    return {(row["fingerprint"], row["first_seen_at"]): row["last_at"] for row in records(frame)}


def acknowledgements(warehouse: Warehouse, as_of: datetime) -> dict[Episode, str]:
    """The most severe acknowledged severity per episode, of acknowledgements made at or
    before `as_of`."""
    if not warehouse.exists(SCHEMA, "alert_acknowledgements"):
        return {}
    frame = warehouse.frame(
        f"select fingerprint, first_seen_at, severity from {SCHEMA}.alert_acknowledgements "
        "where acknowledged_at <= {p}",
        [as_of],
    )
    acknowledged: dict[Episode, str] = {}
    for row in records(frame):
        key = (row["fingerprint"], row["first_seen_at"])
        if key not in acknowledged or _more_severe(row["severity"], acknowledged[key]):
            acknowledged[key] = row["severity"]
    return acknowledged


def _more_severe(severity: str, than: str) -> bool:
    return SEVERITIES.index(severity) < SEVERITIES.index(than)


def acknowledge(
    warehouse: Warehouse, fingerprint: str, by: str, note: str, as_of: datetime
) -> tuple[dict[str, Any], bool]:
    """Acknowledge the firing episode whose fingerprint is or starts with `fingerprint`
    (at least MIN_FINGERPRINT_PREFIX characters): (its event row, False when it was
    already acknowledged at its severity and nothing was written)."""
    prefix = fingerprint.strip().lower()
    if len(prefix) < MIN_FINGERPRINT_PREFIX or not all(c in "0123456789abcdef" for c in prefix):
        raise AcknowledgeError(
            f"{fingerprint!r} is not a fingerprint (at least {MIN_FINGERPRINT_PREFIX} hex "
            "characters; see `opsmetrics alerts list`)"
        )
    matching = [event for key, event in open_events(warehouse).items() if key.startswith(prefix)]
    if not matching:
        raise AcknowledgeError(f"no firing alert has fingerprint {prefix}")
    if len(matching) > 1:
        raise AcknowledgeError(
            f"{prefix} matches {len(matching)} firing alerts: give more of the fingerprint"
        )
    event = matching[0]
    if event["first_seen_at"] > as_of:
        raise AcknowledgeError(f"alert {event['fingerprint']} first fired after {as_of}")
    episode = (event["fingerprint"], event["first_seen_at"])
    done = acknowledgements(warehouse, as_of).get(episode)
    if done is not None and not _more_severe(event["severity"], done):
        return event, False
    ensure_tables(warehouse)
    warehouse.begin()
    try:
        _insert(
            warehouse,
            "alert_acknowledgements",
            ACKNOWLEDGEMENT_COLUMNS,
            {
                "fingerprint": event["fingerprint"],
                "first_seen_at": event["first_seen_at"],
                "severity": event["severity"],
                "acknowledged_by": by,
                "note": note,
                "acknowledged_at": as_of,
            },
        )
        warehouse.commit()
    except Exception:
        warehouse.rollback()
        raise
    return event, True


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    records = frame.astype(object).where(frame.notna(), None).to_dict("records")
    for record in records:
        for key, value in record.items():
            if isinstance(value, pd.Timestamp):
                record[key] = value.to_pydatetime()
    return records


def _event_row(finding: Finding, as_of: datetime) -> dict[str, Any]:
    outcome = finding.outcome
    return {
        "fingerprint": finding.fingerprint,
        "rule_id": finding.rule_id,
        "rule_kind": finding.rule_kind,
        "metric": finding.metric,
        "slice_name": finding.slice_name,
        "slice_value": finding.slice_value,
        "grain": finding.grain,
        "window_start": finding.window_start,
        "window_end": finding.window_end,
        "observed_value": outcome.observed,
        "expected_value": outcome.expected,
        "lower_bound": outcome.lower,
        "upper_bound": outcome.upper,
        "severity": finding.severity,
        "state": "firing",
        "message": finding.message,
        "first_seen_at": as_of,
        "last_seen_at": as_of,
        "resolved_at": None,
    }


def _messages(
    event: dict[str, Any], kind: str, channels: list[str], policies: Policies, as_of: datetime
) -> list[dict[str, Any]]:
    severity, metric = event["severity"], event["metric"]
    title = {
        "firing": f"[{severity}] {metric} alert",
        "escalation": f"[{severity}] still firing, unacknowledged: {metric} alert",
        "resolved": f"[resolved] {metric} alert",
    }[kind]
    body = event["message"]
    if kind != "resolved":
        body += f"\nAcknowledge: opsmetrics alerts ack {event['fingerprint']}"
    return [
        {
            "fingerprint": event["fingerprint"],
            "first_seen_at": event["first_seen_at"],
            "channel": channel,
            "notification_kind": kind,
            "severity": event["severity"],
            "title": title,
            "body": body,
            "status": "pending",
            "attempts": 0,
            "last_error": None,
            "created_at": as_of,
            "sent_at": None,
        }
        for channel in channels
        if policies.channels[channel].env is not None
    ]


def plan(
    findings: list[Finding],
    open_by_fingerprint: dict[str, dict[str, Any]],
    notified: dict[tuple[str, datetime], datetime],
    policies: Policies,
    as_of: datetime,
    acknowledged: dict[Episode, str] | None = None,
) -> Plan:
    """The changes one evaluation at `as_of` makes. An episode that keeps firing is
    updated (last seen, latest values) and, unless acknowledged at its severity
    (`acknowledged`: episode → acknowledged severity), escalated once its policy's
    escalation time has passed since its last notification; an episode whose finding is
    `ok` is resolved; findings that could not be judged change nothing."""
    result = Plan()
    acknowledged = acknowledged or {}
    for finding in findings:
        status = finding.outcome.status
        current = open_by_fingerprint.get(finding.fingerprint)
        if status == "firing" and current is None:
            event = _event_row(finding, as_of)
            result.new.append(event)
            policy = policies.policies[finding.severity]
            result.notifications += _messages(event, "firing", policy.channels, policies, as_of)
        elif status == "firing" and current is not None and as_of > current["last_seen_at"]:
            event = {**_event_row(finding, as_of), "first_seen_at": current["first_seen_at"]}
            raised = SEVERITIES.index(finding.severity) < SEVERITIES.index(current["severity"])
            if not raised:
                event["severity"] = current["severity"]
            result.updated.append(event)
            policy = policies.policies[event["severity"]]
            episode = (current["fingerprint"], current["first_seen_at"])
            last = notified.get(episode) or current["first_seen_at"]
            ack = acknowledged.get(episode)
            unacknowledged = ack is None or _more_severe(event["severity"], ack)
            if raised:
                result.notifications += _messages(event, "firing", policy.channels, policies, as_of)
            elif (
                unacknowledged
                and policy.escalation is not None
                and as_of - last >= policy.escalation
            ):
                result.notifications += _messages(
                    event, "escalation", policy.escalate_to, policies, as_of
                )
        elif status == "ok" and current is not None and as_of > current["last_seen_at"]:
            event = {**current, "state": "resolved", "resolved_at": as_of, "last_seen_at": as_of}
            result.resolved.append(event)
            policy = policies.policies[current["severity"]]
            result.notifications += _messages(event, "resolved", policy.channels, policies, as_of)
    return result


def apply(warehouse: Warehouse, changes: Plan) -> None:
    """Write a plan in one transaction."""
    ensure_tables(warehouse)
    warehouse.begin()
    try:
        for event in changes.new:
            _insert(warehouse, "alert_events", EVENT_COLUMNS, event)
        for event in [*changes.updated, *changes.resolved]:
            assignments = [
                column for column in EVENT_COLUMNS if column not in ("fingerprint", "first_seen_at")
            ]
            warehouse.execute(
                f"update {SCHEMA}.alert_events set "
                + ", ".join(f"{column} = {{p}}" for column in assignments)
                + " where fingerprint = {p} and first_seen_at = {p}",
                [*(event[c] for c in assignments), event["fingerprint"], event["first_seen_at"]],
            )
        for message in changes.notifications:
            _insert(warehouse, "alert_notifications", NOTIFICATION_COLUMNS, message)
        warehouse.commit()
    except Exception:
        warehouse.rollback()
        raise


def _insert(warehouse: Warehouse, table: str, columns: dict[str, str], row: dict[str, Any]) -> None:
    names = list(columns)
    warehouse.execute(
        f"insert into {SCHEMA}.{table} ({', '.join(names)}) "
        f"values ({', '.join('{p}' for _ in names)})",
        [row[name] for name in names],
    )
