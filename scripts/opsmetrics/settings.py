"""Where things live: the warehouse file and the dbt target, from the environment."""

from __future__ import annotations

import os
from pathlib import Path

from opsmetrics import PROJECT_DIR

DEFAULT_DUCKDB_PATH = "warehouse/opsmetrics.duckdb"
DEFAULT_PUBLISHED_PATH = "warehouse/opsmetrics_published.duckdb"
TARGETS = ("duckdb", "postgres")


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


DUCKDB_DEFAULTS = {
    "OPSMETRICS_DUCKDB_MEMORY_LIMIT": "8GB",
    "OPSMETRICS_DUCKDB_THREADS": "2",
    "OPSMETRICS_DUCKDB_MAX_TEMP_SIZE": "10GB",
    "OPSMETRICS_LOAD_MEMORY_LIMIT": "3GB",
}
"""The DuckDB settings' variables and defaults. profiles.yml reads the same variables
with the same defaults (a unit test holds them equal); the loader reads them here."""


def duckdb_memory_limit() -> str:
    """DuckDB's memory_limit (OPSMETRICS_DUCKDB_MEMORY_LIMIT), the bound profiles.yml
    gives dbt; DuckDB spills to disk past it."""
    return _duckdb_setting("OPSMETRICS_DUCKDB_MEMORY_LIMIT")


def load_memory_limit() -> str:
    """DuckDB's memory_limit on the load connection (OPSMETRICS_LOAD_MEMORY_LIMIT): a
    load is a scan, a cast and a sort by `_loaded_at`, which spill to disk past it."""
    return _duckdb_setting("OPSMETRICS_LOAD_MEMORY_LIMIT")


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
        "max_temp_directory_size": _duckdb_setting("OPSMETRICS_DUCKDB_MAX_TEMP_SIZE"),
    }


def _duckdb_setting(variable: str) -> str:
    return os.environ.get(variable) or DUCKDB_DEFAULTS[variable]


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
