"""The alert state machine (`store.plan`) on hand-made findings: when an episode is
notified, escalated, acknowledged and resolved, with the shipped policies."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from opsmetrics import PROJECT_DIR
from opsmetrics.alerts.conditions import Outcome
from opsmetrics.alerts.policies import Policies, load_policies
from opsmetrics.alerts.store import Finding, Plan, plan

START = datetime(2025, 7, 1, 0, 0)


@pytest.fixture(scope="module")
def policies() -> Policies:
    return load_policies(PROJECT_DIR / "alerts" / "policies.yml")


def finding(severity: str = "critical", status: str = "firing") -> Finding:
    return Finding(
        rule_id="error_rate_5min_critical",
        rule_kind="threshold",
        metric="error_rate",
        slice_name="service",
        slice_value="auth",
        grain="5m",
        window_start=START - timedelta(minutes=5),
        window_end=START,
        outcome=Outcome(status, 12.0, None, None, 5.0, "12 > 5"),  # type: ignore[arg-type]
        severity=severity,
    )


class Episode:
    """One episode driven through successive evaluations, as `evaluate` would."""

    def __init__(self, policies: Policies) -> None:
        self.policies = policies
        self.open: dict[str, dict] = {}
        self.notified: dict[tuple[str, datetime], datetime] = {}
        self.acknowledged: dict[tuple[str, datetime], str] = {}

    def at(self, minutes: int, result: Finding) -> Plan:
        as_of = START + timedelta(minutes=minutes)
        changes = plan([result], self.open, self.notified, self.policies, as_of, self.acknowledged)
        for event in [*changes.new, *changes.updated]:
            self.open[event["fingerprint"]] = event
        for event in changes.resolved:
            self.open.pop(event["fingerprint"])
        for message in changes.notifications:
            self.notified[(message["fingerprint"], message["first_seen_at"])] = as_of
        return changes

    def acknowledge(self, severity: str) -> None:
        (event,) = self.open.values()
        self.acknowledged[(event["fingerprint"], event["first_seen_at"])] = severity


def kinds(changes: Plan) -> set[tuple[str, str]]:
    return {(m["notification_kind"], m["channel"]) for m in changes.notifications}


def test_an_unacknowledged_critical_alert_escalates_every_15_minutes(
    policies: Policies,
) -> None:
    episode = Episode(policies)
    first = episode.at(0, finding())
    assert kinds(first) == {("firing", "pagerduty"), ("firing", "sms"), ("firing", "email")}
    assert "opsmetrics alerts ack " + first.new[0]["fingerprint"] in first.notifications[0]["body"]
    assert kinds(episode.at(10, finding())) == set()
    escalation = episode.at(15, finding())
    assert {kind for kind, _ in kinds(escalation)} == {"escalation"}
    assert {channel for _, channel in kinds(escalation)} == {"pagerduty", "sms", "email", "slack"}
    assert "unacknowledged" in escalation.notifications[0]["title"]
    assert kinds(episode.at(25, finding())) == set()
    assert {kind for kind, _ in kinds(episode.at(30, finding()))} == {"escalation"}


def test_an_acknowledged_alert_is_not_escalated_but_still_resolves(policies: Policies) -> None:
    episode = Episode(policies)
    episode.at(0, finding())
    episode.acknowledge("critical")
    for minutes in (15, 30, 60, 240):
        changes = episode.at(minutes, finding())
        assert len(changes.updated) == 1 and changes.notifications == []
    resolved = episode.at(250, finding(status="ok"))
    assert len(resolved.resolved) == 1
    assert {kind for kind, _ in kinds(resolved)} == {"resolved"}
    assert "ack" not in resolved.notifications[0]["body"]


def test_a_severity_rise_after_acknowledgement_notifies_and_escalates_again(
    policies: Policies,
) -> None:
    episode = Episode(policies)
    episode.at(0, finding("high"))
    episode.acknowledge("high")
    assert episode.at(240, finding("high")).notifications == []  # high escalates after 4 h
    raised = episode.at(250, finding("critical"))
    assert {kind for kind, _ in kinds(raised)} == {"firing"}
    assert raised.updated[0]["severity"] == "critical"
    assert {kind for kind, _ in kinds(episode.at(265, finding("critical")))} == {"escalation"}


def test_an_acknowledgement_of_a_more_severe_level_covers_a_lower_one(
    policies: Policies,
) -> None:
    episode = Episode(policies)
    episode.at(0, finding("high"))
    episode.acknowledge("critical")
    assert episode.at(600, finding("high")).notifications == []


def test_a_new_episode_after_resolution_is_not_covered_by_the_old_acknowledgement(
    policies: Policies,
) -> None:
    episode = Episode(policies)
    episode.at(0, finding())
    episode.acknowledge("critical")
    episode.at(5, finding(status="ok"))
    episode.at(10, finding())
    assert {kind for kind, _ in kinds(episode.at(25, finding()))} == {"escalation"}
