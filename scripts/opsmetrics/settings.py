"""Where things live: the warehouse file and the dbt target, from the environment."""

from __future__ import annotations

import os
from pathlib import Path

from opsmetrics import PROJECT_DIR

DEFAULT_DUCKDB_PATH = "warehouse/opsmetrics.duckdb"
DEFAULT_PUBLISHED_PATH = "warehouse/opsmetrics_published.duckdb"
TARGETS = ("duckdb", "postgres")
# Where dbt builds and `opsmetrics load` also run (issue 15); the tracker's commands
# (metric export, quality, alerts, forecasts, dashboards) stay on TARGETS.
DBT_TARGETS = (*TARGETS, "spark")
# Targets MetricFlow cannot query: dbt-metricflow 0.15 has no Spark SQL engine (its
# adapters: duckdb, postgres, databricks, snowflake, ...). docs/warehouses.md, Spark.
NO_SEMANTIC_LAYER = {"spark": "dbt-metricflow 0.15 has no Spark engine (Databricks only)"}


def duckdb_path() -> Path:
    """The DuckDB warehouse file (OPSMETRICS_DUCKDB_PATH), absolute.

    A relative path is taken from the project directory, as dbt (run there) takes it.
    The absolute path is written back to the environment so that dbt, invoked
    in-process from any working directory, opens the same file.
    """
    path = Path(os.environ.get("OPSMETRICS_DUCKDB_PATH", DEFAULT_DUCKDB_PATH))
    if not path.is_absolute():
        path = PROJECT_DIR / path
    os.environ["OPSMETRICS_DUCKDB_PATH"] = str(path)
    return path


def published_duckdb_path() -> Path:
    """The read-only snapshot BI tools and dashboards open (OPSMETRICS_PUBLISHED_PATH),
    absolute; a relative path is taken from the project directory."""
    path = Path(os.environ.get("OPSMETRICS_PUBLISHED_PATH", DEFAULT_PUBLISHED_PATH))
    return path if path.is_absolute() else PROJECT_DIR / path


def chromium_path() -> Path:
    """Debian's chromium, which Playwright drives (OPSMETRICS_CHROMIUM); never a browser
    Playwright downloads. scripts/ci/ensure_chromium.sh installs it."""
    return Path(os.environ.get("OPSMETRICS_CHROMIUM", "/usr/bin/chromium"))


def duckdb_memory_limit() -> str:
    """DuckDB's memory_limit (OPSMETRICS_DUCKDB_MEMORY_LIMIT), the bound profiles.yml
    gives dbt; DuckDB spills to disk past it."""
    return os.environ.get("OPSMETRICS_DUCKDB_MEMORY_LIMIT", "8GB")


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
