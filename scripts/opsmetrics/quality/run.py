"""A quality run: every suite of gx/suites.yml through one GX checkpoint (in a worker
process, quality/checkpoint.py), its verdicts classified and recorded.

A failing expectation (the data breaks a rule) and an engine error (missing table, SQL
error, no connection) are kept apart: the first exits 1, the second 2, and an error is
never counted as a pass or as a data failure. This module does not import GX.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console

from opsmetrics.settings import (
    check_target,
    child_environment,
    duckdb_path,
    project_dir,
    quality_result_path,
)

PASSED, FAILED, ERROR = "passed", "failed", "error"
EXIT_CODES = {PASSED: 0, FAILED: 1, ERROR: 2}
# GX imports pyspark where it is installed (the Spark target's dependency), and pyspark
# warns about the pandas version on import; the quality run never uses Spark.
PYSPARK_IMPORT_WARNING = "ignore:PySpark does not yet fully support pandas:FutureWarning"


def gx_dir() -> Path:
    """The project's GX folder: suites.yml, the committed great_expectations.yml."""
    return project_dir() / "gx"


def data_docs_index() -> Path:
    return gx_dir() / "uncommitted" / "data_docs" / "local_site" / "index.html"


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


def run_quality(
    target: str = "duckdb", suites: list[str] | None = None, spec: Path | None = None
) -> QualityResult:
    """Validate the suites named `suites` (default: every suite) of gx/suites.yml (or of
    `spec`) on `target`, build the Data Docs and record the verdict. GX runs in a worker
    process that works on this project and warehouse."""
    check_target(target)
    result = QualityResult(target=target)
    with tempfile.TemporaryDirectory(prefix="opsmetrics-quality-") as scratch:
        out = Path(scratch) / "outcomes.json"
        command = [sys.executable, "-m", "opsmetrics.quality.checkpoint", "--target", target]
        command += ["--out", str(out)]
        if suites is not None:
            command += ["--suites", json.dumps(suites)]
        if spec is not None:
            command += ["--spec", str(spec)]
        warnings = [os.environ.get("PYTHONWARNINGS", ""), PYSPARK_IMPORT_WARNING]
        environment = child_environment(PYTHONWARNINGS=",".join(filter(None, warnings)))
        done = subprocess.run(command, env=environment, check=False)
        payload = (
            json.loads(out.read_text())
            if out.exists()
            else {"error": f"the GX worker ended with exit code {done.returncode}"}
        )
    if "error" in payload:
        result.outcomes = [Outcome("quality", "the checkpoint runs", "", payload["error"], ERROR)]
    else:
        result.outcomes = [Outcome(**outcome) for outcome in payload["outcomes"]]
        result.data_docs = Path(payload["data_docs"]) if payload["data_docs"] else None
    write_result_file(result)
    return result


def write_result_file(result: QualityResult, path: Path | None = None) -> None:
    """Record the run's verdict (status, counts, when, which warehouse) as JSON (default
    target/quality_result.json, which `opsmetrics publish` reads)."""
    path = path or quality_result_path()
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


def first_line(error: object) -> str:
    text = str(error).strip()
    return text.splitlines()[0][:300] if text else type(error).__name__


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
