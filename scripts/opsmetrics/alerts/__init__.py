"""Alerts: rules as code (alerts/rules/*.yml), severity policies (alerts/policies.yml),
evaluation into `alerts.alert_events`, and notification through apprise.

Modules: `rules` (the rule model and its line-precise loader), `conditions` (the five
condition kinds as pure functions of a series), `policies` (severities and channels),
`source` (reads a rule's series from the warehouse), `store` (the alert tables and their
state machine), `notify` (delivery) and `evaluate` (everything together).
"""

from __future__ import annotations

from opsmetrics import PROJECT_DIR

ALERTS_DIR = PROJECT_DIR / "alerts"
"""Where the reviewed alert configuration lives: rules/*.yml and policies.yml."""


class AlertConfigError(ValueError):
    """A rule or policy file is invalid; the message names the file and the line."""
