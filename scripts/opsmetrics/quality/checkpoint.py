"""The Great Expectations side of the quality run: every suite through one checkpoint,
each expectation's verdict classified. It runs in a worker process
(`python -m opsmetrics.quality.checkpoint`, started by run.run_quality), so the process
that asks for a quality run never imports GX.

Why a worker: a process that has imported GX together with duckdb-engine ends, at
interpreter shutdown, with dozens of "nanobind: leaked ..." lines from DuckDB's
bindings, whether or not a connection was ever opened (docs/decisions.md, Issue 14).
The worker writes its verdicts to a file and leaves with os._exit, as multiprocessing's
workers do, so that shutdown never runs; nothing else is skipped (the Data Docs, the
GX stores and the result are written and closed before).

GX runs on a copy of the committed gx/great_expectations.yml under gx/uncommitted/runtime
(ignored by git), whose stores point back at their folders under gx/: GX writes the
datasource it is given into that copy, never into the committed file.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import great_expectations as gx
import sqlalchemy as sa
import yaml
from great_expectations.checkpoint import UpdateDataDocsAction
from great_expectations.core import ExpectationValidationResult
from great_expectations.data_context import AbstractDataContext

from opsmetrics.quality import duckdb_dialect
from opsmetrics.quality.run import (
    ERROR,
    FAILED,
    PASSED,
    Outcome,
    data_docs_index,
    first_line,
    gx_dir,
)
from opsmetrics.quality.spec import TableSuite, load_spec, table_suites
from opsmetrics.settings import check_target, duckdb_memory_limit, duckdb_path, duckdb_threads

CHECKPOINT_NAME = "opsmetrics"
GENERATED_STORES = ("expectations", "validation_definitions", "checkpoints")

# Connection strings keep ${VAR}s, so no GX config ever holds a path or secret; the
# values come from runtime_environment, not from os.environ.
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


def runtime_dir() -> Path:
    """Where GX's runtime config lives: gx/uncommitted/runtime (ignored by git)."""
    return gx_dir() / "uncommitted" / "runtime"


def validate(
    target: str, names: list[str] | None = None, spec_path: Path | None = None
) -> tuple[list[Outcome], Path | None]:
    """Run the suites named `names` (default: every suite of the spec, gx/suites.yml
    unless `spec_path`) on `target`; their outcomes, and the Data Docs index when built."""
    check_target(target)
    suites = _selected(table_suites(load_spec(spec_path)), names)
    context = _runtime_context(target)
    try:
        datasource = _datasource(context, target)
    except Exception as error:  # no connection at all: every suite is an engine error
        return [
            Outcome(s.name, "warehouse is reachable", "", first_line(error), ERROR) for s in suites
        ], None
    outcomes: list[Outcome] = []
    try:
        definitions = []
        for suite in suites:
            try:
                definitions.append(_validation_definition(context, datasource, suite))
            except Exception as error:  # the table cannot be reached: an engine error
                outcomes.append(
                    Outcome(suite.name, "table is reachable", "", first_line(error), ERROR)
                )
        if definitions:
            outcomes.extend(_run_checkpoint(context, datasource, definitions, suites))
    finally:
        _close(datasource)
    index = data_docs_index()
    return outcomes, index if index.exists() else None


def _selected(suites: list[TableSuite], names: list[str] | None) -> list[TableSuite]:
    if names is None:
        return suites
    by_name = {suite.name: suite for suite in suites}
    unknown = [name for name in names if name not in by_name]
    if unknown:
        raise ValueError(f"no suite named {', '.join(unknown)} in the spec")
    return [by_name[name] for name in names]


def _runtime_context(target: str) -> AbstractDataContext:
    """The file-mode GX project on the runtime copy of gx/great_expectations.yml, with
    what gx/suites.yml generates cleared first: suites, validation definitions and
    checkpoint are rebuilt on every run, so a table dropped from the spec leaves nothing
    stale behind."""
    committed = gx_dir()
    for generated in GENERATED_STORES:
        shutil.rmtree(committed / generated, ignore_errors=True)
    config = yaml.safe_load((committed / "great_expectations.yml").read_text())
    backends = [store.get("store_backend", {}) for store in config["stores"].values()]
    backends += [site["store_backend"] for site in config["data_docs_sites"].values()]
    for backend in backends:
        if "base_directory" in backend:
            backend["base_directory"] = str(committed / backend["base_directory"])
    for key in ("plugins_directory", "config_variables_file_path"):
        config[key] = str(committed / config[key])
    runtime = runtime_dir()
    runtime.mkdir(parents=True, exist_ok=True)
    (runtime / "great_expectations.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    return gx.get_context(
        mode="file", context_root_dir=str(runtime), runtime_environment=_substitutions(target)
    )


def _substitutions(target: str) -> dict[str, str]:
    """The ${VAR}s of the connection strings: the environment's, else profiles.yml's
    defaults; the DuckDB path absolute."""
    if target == "postgres":
        return {name: os.environ.get(name, value) for name, value in POSTGRES_DEFAULTS.items()}
    return {"OPSMETRICS_DUCKDB_PATH": str(duckdb_path())}


def _datasource(context: AbstractDataContext, target: str) -> Any:
    if target == "postgres":
        return context.data_sources.add_or_update_postgres(
            name="postgres", connection_string=POSTGRES_CONNECTION
        )
    duckdb_dialect.register()
    return context.data_sources.add_or_update_sql(
        name="duckdb",
        connection_string=duckdb_dialect.connection_string("${OPSMETRICS_DUCKDB_PATH}"),
        kwargs={"connect_args": {"read_only": True, "config": _duckdb_settings()}},
    )


def _duckdb_settings() -> dict[str, str]:
    """The same bounds as dbt's profile: DuckDB spills to disk past the memory limit."""
    return {"memory_limit": duckdb_memory_limit(), "threads": str(duckdb_threads())}


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
        return first_line(info["exception_message"])
    messages = [v.get("exception_message", "") for v in info.values() if isinstance(v, dict)]
    return first_line(next((m for m in messages if m), "engine error"))


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


def _close(datasource: Any) -> None:
    """Release the warehouse (an open DuckDB handle would block the next dbt run)."""
    engine = getattr(datasource.get_execution_engine(), "engine", None)
    if engine is not None:
        engine.dispose()


def main(argv: list[str]) -> None:
    """The worker: validate, write {"outcomes", "data_docs"} (or {"error"}) as JSON to
    --out, and leave without interpreter shutdown (see the module docstring)."""
    parser = argparse.ArgumentParser(prog="python -m opsmetrics.quality.checkpoint")
    parser.add_argument("--target", default="duckdb")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--suites", help="JSON list of suite names (default: all)")
    parser.add_argument("--spec", type=Path, help="Suite spec (default: gx/suites.yml)")
    arguments = parser.parse_args(argv)
    try:
        names = json.loads(arguments.suites) if arguments.suites else None
        outcomes, data_docs = validate(arguments.target, names, arguments.spec)
        payload: dict[str, Any] = {
            "outcomes": [asdict(outcome) for outcome in outcomes],
            "data_docs": str(data_docs) if data_docs else None,
        }
    except Exception as error:
        payload = {"error": first_line(error)}
    arguments.out.write_text(json.dumps(payload))
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main(sys.argv[1:])
