"""`opsmetrics alerts …`: validate, evaluate, notify, list, ack."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from opsmetrics.alerts import AlertConfigError, alerts_dir

if TYPE_CHECKING:
    from opsmetrics.alerts.evaluate import Evaluation
    from opsmetrics.alerts.notify import DeliveryReport
    from opsmetrics.alerts.store import Finding

app = typer.Typer(
    no_args_is_help=True, help="Alert rules: validate, evaluate, notify, list, acknowledge."
)
console = Console()

RulesDir = Annotated[
    Path | None, typer.Option(help="Folder of rule files (*.yml); default alerts/rules.")
]
PoliciesFile = Annotated[
    Path | None,
    typer.Option(help="Severity policies and channels; default alerts/policies.yml."),
]
Target = Annotated[str, typer.Option(help="duckdb | postgres")]
AsOf = Annotated[
    str | None,
    typer.Option(help="Evaluate as if now were this UTC time (YYYY-MM-DD[THH:MM]); default now."),
]


def parse_as_of(value: str | None) -> datetime:
    """A naive UTC datetime; an offset in the text is converted to UTC."""
    if value is None:
        return datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed


def _fail(message: str, code: int = 2) -> typer.Exit:
    console.print(f"alerts: {message}", soft_wrap=True, highlight=False, markup=False)
    return typer.Exit(code)


@app.command()
def validate(rules_dir: RulesDir = None, policies: PoliciesFile = None) -> None:
    """Check every rule file and the policies (file:line of each problem; exit 2)."""
    from opsmetrics.alerts.evaluate import known_metrics
    from opsmetrics.alerts.policies import load_policies
    from opsmetrics.alerts.rules import load_rules

    try:
        load_policies(policies)
        rules = load_rules(rules_dir, known_metrics())
    except AlertConfigError as error:
        raise _fail(str(error)) from None
    console.print(f"{len(rules)} rules valid in {rules_dir or alerts_dir() / 'rules'}")


@app.command()
def evaluate(
    as_of: AsOf = None,
    dry_run: Annotated[
        bool, typer.Option(help="Judge every rule and print; write and send nothing.")
    ] = False,
    notify: Annotated[bool, typer.Option(help="Deliver pending notifications afterwards.")] = True,
    target: Target = "duckdb",
    rules_dir: RulesDir = None,
    policies: PoliciesFile = None,
) -> None:
    """Judge every rule at its latest complete period, record alerts in
    alerts.alert_events (idempotent) and notify their channels."""
    from opsmetrics.alerts.evaluate import evaluate as run_evaluation
    from opsmetrics.alerts.evaluate import record
    from opsmetrics.alerts.notify import deliver
    from opsmetrics.alerts.warehouse import Warehouse, WarehouseError

    try:
        moment = parse_as_of(as_of)
    except ValueError:
        raise _fail(f"--as-of {as_of!r} is not an ISO date or time") from None
    try:
        with Warehouse(target, read_only=dry_run) as warehouse:
            evaluation, context, rules = run_evaluation(warehouse, moment, rules_dir, policies)
            print_firing(evaluation)
            if dry_run:
                console.print(f"dry run: {len(rules)} rules judged, nothing written")
                return
            changes = record(warehouse, evaluation, context.policies)
            console.print(
                f"{len(changes.new)} new, {len(changes.updated)} still firing, "
                f"{len(changes.resolved)} resolved; "
                f"{len(changes.notifications)} notifications queued"
            )
            if notify:
                _report_delivery(deliver(warehouse, context.policies, os.environ))
    except AlertConfigError as error:
        raise _fail(str(error)) from None
    except (WarehouseError, ValueError) as error:
        raise _fail(str(error)) from None


@app.command("notify")
def notify_command(target: Target = "duckdb", policies: PoliciesFile = None) -> None:
    """Deliver the pending notifications (exit 1 when a channel still fails)."""
    from opsmetrics.alerts.notify import deliver
    from opsmetrics.alerts.policies import load_policies
    from opsmetrics.alerts.warehouse import Warehouse, WarehouseError

    try:
        loaded = load_policies(policies)
        with Warehouse(target) as warehouse:
            _report_delivery(deliver(warehouse, loaded, os.environ))
    except AlertConfigError as error:
        raise _fail(str(error)) from None
    except WarehouseError as error:
        raise _fail(str(error)) from None


@app.command("list")
def list_command(target: Target = "duckdb") -> None:
    """The firing alerts, most severe first, with the fingerprint `ack` takes."""
    from opsmetrics.alerts.rules import SEVERITIES
    from opsmetrics.alerts.store import acknowledgements, open_events
    from opsmetrics.alerts.warehouse import Warehouse, WarehouseError

    try:
        with Warehouse(target, read_only=True) as warehouse:
            events = list(open_events(warehouse).values())
            acked = acknowledgements(warehouse, parse_as_of(None))
    except WarehouseError as error:
        raise _fail(str(error)) from None
    events.sort(key=lambda e: (SEVERITIES.index(e["severity"]), e["metric"], e["fingerprint"]))
    console.print(f"firing alerts: {len(events)}")
    for event in events:
        where = (
            ""
            if event["slice_value"] == "all"
            else f" [{event['slice_name']}={event['slice_value']}]"
        )
        state = " (acknowledged)" if (event["fingerprint"], event["first_seen_at"]) in acked else ""
        console.print(
            f"  {event['fingerprint']}  {event['severity']:<8} {event['metric']}{where} "
            f"{event['rule_kind']} since {event['first_seen_at']:%Y-%m-%d %H:%M}{state}",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )


@app.command("ack")
def ack_command(
    fingerprint: Annotated[
        str, typer.Argument(help="The alert's fingerprint (or its first 6+ characters).")
    ],
    by: Annotated[str | None, typer.Option(help="Who acknowledges (default: $USER).")] = None,
    note: Annotated[str, typer.Option(help="What is being done about it.")] = "",
    as_of: AsOf = None,
    target: Target = "duckdb",
) -> None:
    """Acknowledge a firing alert: it is no longer escalated (a rise in its severity is
    notified, and it still sends its "resolved")."""
    import getpass

    from opsmetrics.alerts.store import AcknowledgeError, acknowledge
    from opsmetrics.alerts.warehouse import Warehouse, WarehouseError

    try:
        moment = parse_as_of(as_of)
    except ValueError:
        raise _fail(f"--as-of {as_of!r} is not an ISO date or time") from None
    try:
        who = by or getpass.getuser()
    except (OSError, KeyError):
        who = "unknown"
    try:
        with Warehouse(target) as warehouse:
            event, written = acknowledge(warehouse, fingerprint, who, note, moment)
    except (AcknowledgeError, WarehouseError) as error:
        raise _fail(str(error)) from None
    what = f"{event['severity']} {event['metric']} alert {event['fingerprint']}"
    if written:
        console.print(
            f"acknowledged {what} at {moment:%Y-%m-%d %H:%M} UTC by {who}: no further escalation",
            highlight=False,
            markup=False,
        )
    else:
        console.print(f"{what} was already acknowledged", highlight=False, markup=False)


def _report_delivery(report: DeliveryReport) -> None:
    console.print(f"notifications sent: {report.sent}")
    for channel, reason in sorted(report.failures.items()):
        console.print(
            f"channel {channel}: {report.pending[channel]} pending ({reason})",
            highlight=False,
            markup=False,
        )
    if report.failures:
        raise typer.Exit(1)


def value_against_bound(finding: Finding) -> str:
    """'value 812 vs upper bound 402; ' for a value judged against a band or an expected
    value; empty where the detail already says it (thresholds) or there is no value."""
    outcome = finding.outcome
    if outcome.observed is None or finding.rule_kind in ("threshold", "no_data"):
        return ""
    observed = outcome.observed
    if outcome.upper is not None and observed > outcome.upper:
        label, bound = "upper bound", outcome.upper
    elif outcome.lower is not None and observed < outcome.lower:
        label, bound = "lower bound", outcome.lower
    elif outcome.expected is not None:
        label, bound = "expected", outcome.expected
    else:
        return f"value {observed:,.4g}; "
    return f"value {observed:,.4g} vs {label} {bound:,.4g}; "


def print_firing(evaluation: Evaluation) -> None:
    """The firing alerts, most severe first: severity, metric, slice, value vs bound."""
    from opsmetrics.alerts.rules import SEVERITIES

    firing = sorted(
        evaluation.firing,
        key=lambda f: (SEVERITIES.index(f.severity), f.metric, f.slice_value, f.rule_id),
    )
    console.print(f"alerts firing at {evaluation.as_of:%Y-%m-%d %H:%M} UTC: {len(firing)}")
    for finding in firing:
        where = (
            "" if finding.slice_value == "all" else f" [{finding.slice_name}={finding.slice_value}]"
        )
        console.print(
            f"  {finding.severity:<8} {finding.metric}{where} {finding.rule_kind} "
            f"({finding.grain} from {finding.window_start:%Y-%m-%d %H:%M}): "
            f"{value_against_bound(finding)}{finding.outcome.detail}",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
    for note in evaluation.notes:
        console.print(f"not evaluated: {note}", highlight=False, markup=False, soft_wrap=True)
