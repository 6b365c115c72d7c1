"""Run every suite through one GX checkpoint and classify what came back.

A failing expectation (the data breaks a rule) and an engine error (missing table, SQL
error, no connection) are kept apart: the first exits 1, the second 2, and an error is
never counted as a pass or as a data failure.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import great_expectations as gx
import sqlalchemy as sa
from great_expectations.checkpoint import UpdateDataDocsAction
from great_expectations.core import ExpectationValidationResult
from great_expectations.data_context import AbstractDataContext
from rich.console import Console

from opsmetrics import PROJECT_DIR
from opsmetrics.quality import duckdb_dialect
from opsmetrics.quality.spec import TableSuite, table_suites
from opsmetrics.settings import check_target, duckdb_memory_limit, duckdb_path

GX_DIR = PROJECT_DIR / "gx"
PROJECT_CONFIG = GX_DIR / "great_expectations.yml"
CHECKPOINT_NAME = "opsmetrics"
GENERATED_STORES = ("expectations", "validation_definitions", "checkpoints")
DATA_DOCS_INDEX = GX_DIR / "uncommitted" / "data_docs" / "local_site" / "index.html"
# The verdict of the last run, which `opsmetrics publish` requires to have passed.
RESULT_FILE = PROJECT_DIR / "target" / "quality_result.json"

# Connection strings keep ${VAR}s, so great_expectations.yml never holds a path or secret.
POSTGRES_CONNECTION = (
    "postgresql+psycopg2://${OPSMETRICS_PG_USER}:${OPSMETRICS_PG_PASSWORD}"
    "@${OPSMETRICS_PG_HOST}:${OPSMETRICS_PG_PORT}/${OPSMETRICS_PG_DATABASE}"
)
POSTGRES_DEFAULTS = {  # the same defaults as profiles.yml
    "OPSMETRICS_PG_USER": "postgres",
    "OPSMETRICS_PG_PASSWORD": "",
    "OPSMETRICS_PG_HOST": "127.0.0.1",
    "OPSMETRICS_PG_PORT": "5432",
    "OPSMETRICS_PG_DATABASE": "opsmetrics",
}

PASSED, FAILED, ERROR = "passed", "failed", "error"
EXIT_CODES = {PASSED: 0, FAILED: 1, ERROR: 2}


@dataclass(frozen=True)
class Outcome:
    """One expectation's verdict, in words a reader can act on."""

    suite: str
    expectation: str
    column: str
    observed: str
    status: str


@dataclass
class QualityResult:
    target: str
    outcomes: list[Outcome] = field(default_factory=list)
    data_docs: Path | None = None

    def count(self, status: str) -> int:
        return sum(o.status == status for o in self.outcomes)

    @property
    def passed(self) -> int:
        return self.count(PASSED)

    @property
    def failed(self) -> int:
        return self.count(FAILED)

    @property
    def errors(self) -> int:
        return self.count(ERROR)

    @property
    def status(self) -> str:
        if self.errors:
            return ERROR
        return FAILED if self.failed else PASSED

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.status]


def run_quality(target: str = "duckdb", suites: list[TableSuite] | None = None) -> QualityResult:
    """Validate every suite of gx/suites.yml on `target` and build the Data Docs."""
    check_target(target)
    suites = suites if suites is not None else table_suites()
    result = QualityResult(target=target)
    committed_config = PROJECT_CONFIG.read_text()
    context = _fresh_context()
    try:
        datasource = _datasource(context, target)
    except Exception as error:  # no connection at all: every suite is an engine error
        PROJECT_CONFIG.write_text(committed_config)
        result.outcomes = [
            Outcome(s.name, "warehouse is reachable", "", _first_line(error), ERROR) for s in suites
        ]
        write_result_file(result)
        return result
    try:
        definitions = []
        for suite in suites:
            try:
                definitions.append(_validation_definition(context, datasource, suite))
            except Exception as error:  # the table cannot be reached: an engine error
                result.outcomes.append(
                    Outcome(suite.name, "table is reachable", "", _first_line(error), ERROR)
                )
        if definitions:
            result.outcomes.extend(_run_checkpoint(context, datasource, definitions, suites))
        result.data_docs = DATA_DOCS_INDEX if DATA_DOCS_INDEX.exists() else None
    finally:
        _close(datasource)
        # GX writes the generated datasource and its assets (with fresh ids) into the
        # project config, and deleting a datasource does not write it out again: put the
        # committed file back so a quality run leaves the work tree clean.
        PROJECT_CONFIG.write_text(committed_config)
    write_result_file(result)
    return result


def write_result_file(result: QualityResult, path: Path = RESULT_FILE) -> None:
    """Record the run's verdict (status, counts, when, which warehouse) as JSON."""
    path.parent.mkdir(parents=True, exist_ok=True)
    warehouse = str(duckdb_path()) if result.target == "duckdb" else "postgres"
    record = {
        "status": result.status,
        "target": result.target,
        "warehouse": warehouse,
        "finished_at": datetime.now(UTC).isoformat(),
        "passed": result.passed,
        "failed": result.failed,
        "errors": result.errors,
    }
    path.write_text(json.dumps(record, indent=2) + "\n")


def _run_checkpoint(
    context: AbstractDataContext,
    datasource: Any,
    definitions: list[gx.ValidationDefinition],
    suites: list[TableSuite],
) -> list[Outcome]:
    checkpoint = context.checkpoints.add_or_update(
        gx.Checkpoint(
            name=CHECKPOINT_NAME,
            validation_definitions=definitions,
            actions=[UpdateDataDocsAction(name="update_data_docs")],
        )
    )
    run = checkpoint.run()
    by_name = {suite.name: suite for suite in suites}
    outcomes = []
    for validation in run.run_results.values():
        suite = by_name[validation.suite_name]
        outcomes.extend(_outcome(datasource, suite, r) for r in validation.results)
    return outcomes


def _fresh_context() -> AbstractDataContext:
    """The file-mode GX project, with what gx/suites.yml generates cleared first: suites,
    validation definitions and checkpoint are rebuilt on every run, so a table dropped
    from the spec leaves nothing stale behind."""
    for generated in GENERATED_STORES:
        shutil.rmtree(GX_DIR / generated, ignore_errors=True)
    return gx.get_context(mode="file", project_root_dir=str(PROJECT_DIR))


def _datasource(context: AbstractDataContext, target: str) -> Any:
    if target == "postgres":
        for name, value in POSTGRES_DEFAULTS.items():
            os.environ.setdefault(name, value)
        return context.data_sources.add_or_update_postgres(
            name="postgres", connection_string=POSTGRES_CONNECTION
        )
    duckdb_path()  # pins OPSMETRICS_DUCKDB_PATH to an absolute path
    duckdb_dialect.register()
    return context.data_sources.add_or_update_sql(
        name="duckdb",
        connection_string=duckdb_dialect.connection_string("${OPSMETRICS_DUCKDB_PATH}"),
        kwargs={"connect_args": {"read_only": True, "config": _duckdb_settings()}},
    )


def _duckdb_settings() -> dict[str, str]:
    """The same bounds as dbt's profile: DuckDB spills to disk past the memory limit."""
    return {
        "memory_limit": duckdb_memory_limit(),
        "threads": "2",
    }


def _validation_definition(
    context: AbstractDataContext, datasource: Any, suite: TableSuite
) -> gx.ValidationDefinition:
    # A query asset, not a table asset: GX's table asset drops the schema from some
    # metric queries (`select * from <table> limit 1`), which DuckDB then cannot resolve.
    asset = datasource.add_query_asset(
        name=suite.name, query=f"select * from {suite.schema}.{suite.table}"
    )
    batch = asset.add_batch_definition_whole_table("all_rows")
    expectation_suite = context.suites.add_or_update(
        gx.ExpectationSuite(name=suite.name, expectations=suite.expectations)
    )
    return context.validation_definitions.add_or_update(
        gx.ValidationDefinition(name=suite.name, data=batch, suite=expectation_suite)
    )


def _outcome(datasource: Any, suite: TableSuite, result: ExpectationValidationResult) -> Outcome:
    config = result.expectation_config
    kwargs = config.kwargs
    column = kwargs.get("column") or ", ".join(
        kwargs.get("column_list") or kwargs.get("column_set") or []
    )
    name = config.description or config.type
    if _raised(result):
        return Outcome(suite.name, name, column, _exception_message(result), ERROR)
    if result.success:
        return Outcome(suite.name, name, column, _observed(result.result), PASSED)
    if "unexpected_rows_query" in kwargs:
        rows = result.result.get("observed_value")
        first = _first_unexpected_row(datasource, suite, kwargs["unexpected_rows_query"])
        return Outcome(suite.name, name, column, f"{rows} row(s) break it{first}", FAILED)
    return Outcome(suite.name, name, column, _observed(result.result), FAILED)


def _first_unexpected_row(datasource: Any, suite: TableSuite, query: str) -> str:
    """The first row a failing SQL rule returned (GX keeps rows only in COMPLETE results,
    which would also return every failing value of the column rules)."""
    batch = f"(select * from {suite.schema}.{suite.table}) as batch"
    engine = datasource.get_execution_engine().engine
    with engine.connect() as connection:
        row = connection.execute(sa.text(query.replace("{batch}", batch))).mappings().first()
    return f": {_row_text(dict(row))}" if row else ""


def _raised(result: ExpectationValidationResult) -> bool:
    info = result.exception_info or {}
    if "raised_exception" in info:
        return bool(info["raised_exception"])
    return any(v.get("raised_exception") for v in info.values() if isinstance(v, dict))


def _exception_message(result: ExpectationValidationResult) -> str:
    info = result.exception_info or {}
    if "exception_message" in info:
        return _first_line(info["exception_message"])
    messages = [v.get("exception_message", "") for v in info.values() if isinstance(v, dict)]
    return _first_line(next((m for m in messages if m), "engine error"))


def _observed(details: dict[str, Any]) -> str:
    if "unexpected_count" in details:
        sample = details.get("partial_unexpected_list") or []
        text = f"{details['unexpected_count']:,} unexpected"
        if details.get("unexpected_percent") is not None:
            text += f" ({details['unexpected_percent']:.3g}%)"
        return text + (f", e.g. {sample[:3]}" if details["unexpected_count"] else "")
    observed = details.get("observed_value")
    if isinstance(observed, list):
        mismatch = details.get("details", {}).get("mismatched")
        return f"columns {observed}" + (f", mismatched {mismatch}" if mismatch else "")
    return "" if observed is None else str(observed)


def _row_text(row: dict[str, Any]) -> str:
    return ", ".join(f"{key}={value}" for key, value in row.items())


def _first_line(error: object) -> str:
    text = str(error).strip()
    return text.splitlines()[0][:300] if text else type(error).__name__


def _close(datasource: Any) -> None:
    """Release the warehouse (an open DuckDB handle would block the next dbt run)."""
    engine = getattr(datasource.get_execution_engine(), "engine", None)
    if engine is not None:
        engine.dispose()


def print_report(result: QualityResult, console: Console) -> None:
    """Every expectation that did not pass, then the totals and where the Data Docs are."""
    for outcome in (o for o in result.outcomes if o.status != PASSED):
        colour = "red" if outcome.status == ERROR else "yellow"
        column = f" [{outcome.column}]" if outcome.column else ""
        console.print(
            f"[{colour}]{outcome.status.upper():6}[/{colour}] {outcome.suite}: "
            f"{outcome.expectation}{column}\n         observed: {outcome.observed}",
            soft_wrap=True,
            highlight=False,
        )
    suites = len({o.suite for o in result.outcomes})
    console.print(
        f"quality {result.status.upper()} on {result.target}: {suites} suites, "
        f"{result.passed} expectations passed, {result.failed} failed, "
        f"{result.errors} engine errors",
        highlight=False,
    )
    if result.data_docs:
        console.print(f"Data Docs: {result.data_docs}", highlight=False)
