"""Where things live: the dbt project, the warehouse file and the dbt target, from the
working directory, the command line and the environment.

The project is found as dbt finds it: `--project-dir` (the CLI), else
OPSMETRICS_PROJECT_DIR, else the first of the working directory and its parents that
holds a dbt_project.yml. Never from where the package is installed, so a second
checkout (with its own virtualenv or sharing this one) works on its own project.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import jinja2
import yaml

PROJECT_DIR_ENV = "OPSMETRICS_PROJECT_DIR"
PROJECT_FILE = "dbt_project.yml"
PROFILES_FILE = "profiles.yml"
PROFILE_NAME = "opsmetrics"
DEFAULT_DUCKDB_PATH = "warehouse/opsmetrics.duckdb"
DEFAULT_PUBLISHED_PATH = "warehouse/opsmetrics_published.duckdb"
TARGETS = ("duckdb", "postgres")
# Where dbt builds and `opsmetrics load` also run (issue 15); the tracker's commands
# (metric export, quality, alerts, forecasts, dashboards) stay on TARGETS.
DBT_TARGETS = (*TARGETS, "spark")
# Targets MetricFlow cannot query: dbt-metricflow 0.15 has no Spark SQL engine (its
# adapters: duckdb, postgres, databricks, snowflake, ...). docs/warehouses.md, Spark.
NO_SEMANTIC_LAYER = {"spark": "dbt-metricflow 0.15 has no Spark engine (Databricks only)"}

# Set by the CLI's --project-dir for the length of one command (use_project_dir).
_project_dir_option: Path | None = None


class ProjectNotFoundError(Exception):
    """No dbt project where one was looked for; the message is one line saying where
    it looked and how to point at one."""


def _checked_project(path: Path, named_by: str) -> Path:
    root = path.expanduser().resolve()
    if not (root / PROJECT_FILE).is_file():
        raise ProjectNotFoundError(
            f"{named_by} {path}: no {PROJECT_FILE} there, so it is not a dbt project"
        )
    return root


def find_project_dir(start: Path) -> Path:
    """The first of `start` and its parents holding a dbt_project.yml (as dbt looks)."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / PROJECT_FILE).is_file():
            return folder
    raise ProjectNotFoundError(
        f"no dbt project found: no {PROJECT_FILE} in {start} or any folder above it; run "
        f"opsmetrics inside the project, or pass --project-dir or set {PROJECT_DIR_ENV}"
    )


def project_dir() -> Path:
    """The dbt project this process works on (absolute): --project-dir, else
    OPSMETRICS_PROJECT_DIR, else the working directory or the nearest parent with a
    dbt_project.yml. ProjectNotFoundError (one line) when there is none."""
    if _project_dir_option is not None:
        return _project_dir_option
    named = os.environ.get(PROJECT_DIR_ENV)
    if named:
        return _checked_project(Path(named), PROJECT_DIR_ENV)
    return find_project_dir(Path.cwd())


@contextmanager
def use_project_dir(path: Path) -> Iterator[Path]:
    """Work on the project at `path` (the CLI's --project-dir) for the block; the
    previous choice is restored afterwards."""
    global _project_dir_option
    previous = _project_dir_option
    _project_dir_option = _checked_project(path, "--project-dir")
    try:
        yield _project_dir_option
    finally:
        _project_dir_option = previous


def duckdb_path() -> Path:
    """The DuckDB warehouse file (OPSMETRICS_DUCKDB_PATH), absolute.

    A relative path is taken from the project directory, as dbt (run there) takes it.
    Nothing is written to the environment: dbt and MetricFlow, which read the path from
    profiles.yml, get it through dbt_environment().
    """
    path = Path(os.environ.get("OPSMETRICS_DUCKDB_PATH", DEFAULT_DUCKDB_PATH))
    return path if path.is_absolute() else project_dir() / path


def published_duckdb_path() -> Path:
    """The read-only snapshot BI tools and dashboards open (OPSMETRICS_PUBLISHED_PATH),
    absolute; a relative path is taken from the project directory."""
    path = Path(os.environ.get("OPSMETRICS_PUBLISHED_PATH", DEFAULT_PUBLISHED_PATH))
    return path if path.is_absolute() else project_dir() / path


def quality_result_path() -> Path:
    """The verdict of the last quality run (target/quality_result.json), which
    `opsmetrics publish` requires to have passed."""
    return project_dir() / "target" / "quality_result.json"


def dbt_environment(target: str = "duckdb") -> dict[str, str]:
    """The variables profiles.yml reads, as dbt and MetricFlow run in this process must
    see them: the absolute warehouse path (dbt would take a relative one from the working
    directory; the Spark folder and Spark's log configuration likewise), the target, and
    the project's own profiles.yml."""
    return {
        "OPSMETRICS_DUCKDB_PATH": str(duckdb_path()),
        "OPSMETRICS_TARGET": check_dbt_target(target),
        "OPSMETRICS_SPARK_DIR": str(spark_dir()),
        "OPSMETRICS_SPARK_LOG4J": str(spark_log4j_config()),
        "DBT_PROFILES_DIR": str(project_dir()),
    }


def spark_dir() -> Path:
    """Where the local Spark keeps its metastore and tables (OPSMETRICS_SPARK_DIR),
    absolute; a relative path is taken from the project directory."""
    path = Path(os.environ.get("OPSMETRICS_SPARK_DIR", "warehouse/spark"))
    return path if path.is_absolute() else project_dir() / path


def spark_log4j_config() -> Path:
    """The log4j configuration the local Spark's JVM reads (scripts/spark), absolute:
    the JVM would take a relative path from the working directory, and a configuration
    it cannot find leaves Spark's warnings on every dbt statement."""
    return project_dir() / "scripts" / "spark" / "log4j2.properties"


def child_environment(**overrides: str) -> dict[str, str]:
    """The environment of an opsmetrics (or dbt, mf) child process: this one's, plus the
    project and warehouse this process works on, so the child works on the same ones
    wherever it starts. os.environ itself is left as it is."""
    return {
        **os.environ,
        PROJECT_DIR_ENV: str(project_dir()),
        "OPSMETRICS_DUCKDB_PATH": str(duckdb_path()),
        **overrides,
    }


@contextmanager
def scoped_environment(values: Mapping[str, str]) -> Iterator[None]:
    """Set `values` in os.environ for the block and put every one back as it was
    (unset if it was unset), for libraries run in-process that only read the
    environment (dbt's and MetricFlow's profile rendering)."""
    previous = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def chromium_path() -> Path:
    """Debian's chromium, which Playwright drives (OPSMETRICS_CHROMIUM); never a browser
    Playwright downloads. scripts/ci/ensure_chromium.sh installs it."""
    return Path(os.environ.get("OPSMETRICS_CHROMIUM", "/usr/bin/chromium"))


def _env_var(name: str, default: str | None = None) -> str:
    """dbt's env_var(): the variable, else the default, else an error."""
    value = os.environ.get(name, default)
    if value is None:
        raise ValueError(f"{PROFILES_FILE}: env var {name} is required")
    return value


def _as_number(value: str) -> int | float:
    """dbt's as_number filter."""
    number = float(value)
    return int(number) if number.is_integer() else number


def duckdb_profile() -> dict[str, Any]:
    """The DuckDB output of the project's profiles.yml, with the env_var() look-ups of
    its values rendered as dbt renders them: the one place thread counts and the memory
    limit are set, for dbt and for every other DuckDB connection of the package."""
    profiles = yaml.safe_load((project_dir() / PROFILES_FILE).read_text())
    output = profiles[PROFILE_NAME]["outputs"]["duckdb"]
    renderer = jinja2.Environment(undefined=jinja2.StrictUndefined)
    renderer.filters["as_number"] = _as_number

    def render(value: Any) -> Any:
        if isinstance(value, str):
            return renderer.from_string(value).render(env_var=_env_var)
        if isinstance(value, dict):
            return {key: render(item) for key, item in value.items()}
        return value

    return render(output)


def duckdb_memory_limit() -> str:
    """DuckDB's memory_limit: the profile's (OPSMETRICS_DUCKDB_MEMORY_LIMIT, default in
    profiles.yml); DuckDB spills to disk past it."""
    return str(duckdb_profile()["settings"]["memory_limit"])


def duckdb_threads() -> int:
    """DuckDB's thread count: the profile's `settings.threads`."""
    return int(duckdb_profile()["settings"]["threads"])


LOAD_MEMORY_LIMIT = "3GB"
"""The load connection's default memory_limit (OPSMETRICS_LOAD_MEMORY_LIMIT)."""


def load_memory_limit() -> str:
    """DuckDB's memory_limit on the load connection (OPSMETRICS_LOAD_MEMORY_LIMIT): a
    load is a scan, a cast and a sort by `_loaded_at`, which spill to disk past it."""
    return os.environ.get("OPSMETRICS_LOAD_MEMORY_LIMIT") or LOAD_MEMORY_LIMIT


def duckdb_temp_directory(warehouse: Path) -> Path:
    """Where DuckDB spills (OPSMETRICS_DUCKDB_TEMP_DIR): by default `<warehouse>.tmp`
    beside the warehouse file, the rule profiles.yml follows."""
    configured = os.environ.get("OPSMETRICS_DUCKDB_TEMP_DIR")
    return Path(configured) if configured else warehouse.with_name(warehouse.name + ".tmp")


def duckdb_spill_settings(warehouse: Path) -> dict[str, str]:
    """temp_directory and max_temp_directory_size for a connection to `warehouse`, as
    profiles.yml sets them for dbt: spilling beyond the cap fails instead of filling
    the disk."""
    return {
        "temp_directory": str(duckdb_temp_directory(warehouse)),
        "max_temp_directory_size": str(
            duckdb_profile()["config_options"]["max_temp_directory_size"]
        ),
    }


def postgres_params() -> dict[str, str | int]:
    """psycopg2 connection keywords from the OPSMETRICS_PG_* variables profiles.yml reads
    (same defaults), so the loader, the tests and dbt talk to the same server."""
    return {
        "host": os.environ.get("OPSMETRICS_PG_HOST", "127.0.0.1"),
        "port": int(os.environ.get("OPSMETRICS_PG_PORT", "5432")),
        "user": os.environ.get("OPSMETRICS_PG_USER", "postgres"),
        "password": os.environ.get("OPSMETRICS_PG_PASSWORD", ""),
        "dbname": os.environ.get("OPSMETRICS_PG_DATABASE", "opsmetrics"),
    }


def check_target(target: str) -> str:
    if target not in TARGETS:
        raise ValueError(f"unknown target {target!r}: choose one of {', '.join(TARGETS)}")
    return target


def check_dbt_target(target: str) -> str:
    """`target` if dbt (and the raw loader) can work on it, else a one-line ValueError."""
    if target not in DBT_TARGETS:
        raise ValueError(f"unknown target {target!r}: choose one of {', '.join(DBT_TARGETS)}")
    return target


def check_semantic_target(target: str) -> str:
    """`target` if MetricFlow can query it, else a one-line ValueError saying why not."""
    if target in NO_SEMANTIC_LAYER:
        raise ValueError(
            f"the semantic layer cannot run on {target}: {NO_SEMANTIC_LAYER[target]}; "
            "use duckdb or postgres (docs/warehouses.md)"
        )
    return check_target(target)
