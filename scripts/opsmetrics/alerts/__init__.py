"""Alerts: rules as code (alerts/rules/*.yml), severity policies (alerts/policies.yml),
evaluation into `alerts.alert_events`, and notification through apprise.

Modules: `rules` (the rule model and its line-precise loader), `conditions` (the five
condition kinds as pure functions of a series), `policies` (severities and channels),
`source` (reads a rule's series from the warehouse), `store` (the alert tables and their
state machine), `notify` (delivery) and `evaluate` (everything together).
"""

from __future__ import annotations

from pathlib import Path

from opsmetrics.settings import project_dir


def alerts_dir() -> Path:
    """Where the project's reviewed alert configuration lives: rules/*.yml and
    policies.yml."""
    return project_dir() / "alerts"


class AlertConfigError(ValueError):
    """A rule or policy file is invalid; the message names the file and the line."""
