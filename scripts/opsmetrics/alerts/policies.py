"""Severity policies and channels (`alerts/policies.yml`): config, not code."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from pydantic import Field, field_validator, model_validator

from opsmetrics.alerts import alerts_dir
from opsmetrics.alerts.config import load_yaml, validate
from opsmetrics.alerts.rules import SEVERITIES, Severity, Strict

DURATION = re.compile(r"^(\d+)([mhd])$")
UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def parse_duration(text: str) -> timedelta:
    """'15m', '4h' or '1d' as a timedelta."""
    match = DURATION.match(text)
    if not match:
        raise ValueError(f"duration must look like 15m, 4h or 1d, got {text!r}")
    return timedelta(**{UNITS[match.group(2)]: int(match.group(1))})


class Channel(Strict):
    env: str | None
    """The environment variable holding the channel's apprise URL; null for the dashboard."""

    @field_validator("env")
    @classmethod
    def _env(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^[A-Z][A-Z0-9_]*$", value):
            raise ValueError(f"env must name an environment variable, got {value!r}")
        return value


class Policy(Strict):
    channels: list[str]
    respond_within: str
    escalate_after: str | None
    escalate_to: list[str] = Field(default_factory=list)

    @field_validator("respond_within", "escalate_after")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        if value is not None:
            parse_duration(value)
        return value

    @property
    def escalation(self) -> timedelta | None:
        return parse_duration(self.escalate_after) if self.escalate_after else None


class Policies(Strict):
    channels: dict[str, Channel]
    policies: dict[Severity, Policy]
    attempts: int = Field(3, ge=1, le=10)
    retry_seconds: float = Field(1.0, ge=0, le=60)
    no_data_severity: Severity = "medium"

    @model_validator(mode="after")
    def _complete(self) -> Policies:
        missing = [severity for severity in SEVERITIES if severity not in self.policies]
        if missing:
            raise ValueError(f"no policy for severity {', '.join(missing)}")
        for severity, policy in self.policies.items():
            for name in [*policy.channels, *policy.escalate_to]:
                if name not in self.channels:
                    raise ValueError(f"policy {severity} names unknown channel {name!r}")
        return self


def load_policies(path: Path | None = None) -> Policies:
    """The validated policies (default the project's alerts/policies.yml);
    AlertConfigError naming file and line otherwise."""
    path = path or alerts_dir() / "policies.yml"
    return validate(Policies, load_yaml(path), path)
