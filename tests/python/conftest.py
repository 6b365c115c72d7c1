"""Shared fixtures: one tiny generated data set, loaded and built once per session."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import duckdb
import psycopg2
import pytest
from psycopg2 import sql

from opsmetrics.dbt_invoke import run_dbt
from opsmetrics.generate import generate
from opsmetrics.load import load_duckdb
from opsmetrics.load_postgres import load_postgres
from opsmetrics.settings import postgres_params

TEST_SEED = 7
TEST_END_DATE = date(2026, 6, 30)
# Set by `make test-postgres`: there a missing server is a failure, not a skip.
REQUIRE_POSTGRES_ENV = "OPSMETRICS_REQUIRE_POSTGRES"


@pytest.fixture(scope="session")
def tiny_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Tiny raw data with the default defect rate (so quarantine is exercised)."""
    out = tmp_path_factory.mktemp("raw_tiny")
    generate(scale="tiny", seed=TEST_SEED, out=out, end_date=TEST_END_DATE)
    return out


@pytest.fixture(scope="session")
def tiny_manifest(tiny_data_dir: Path) -> dict:
    return json.loads((tiny_data_dir / "manifest.json").read_text())


def use_warehouse(path: Path) -> None:
    """Point the loader and dbt at `path` (dbt is run in-process, so the env is shared)."""
    os.environ["OPSMETRICS_DUCKDB_PATH"] = str(path)


@pytest.fixture(scope="session")
def tiny_warehouse(tmp_path_factory: pytest.TempPathFactory, tiny_data_dir: Path) -> Iterator[Path]:
    """A DuckDB warehouse with the tiny data loaded and the whole project built."""
    previous = os.environ.get("OPSMETRICS_DUCKDB_PATH")
    path = tmp_path_factory.mktemp("warehouse") / "tiny.duckdb"
    use_warehouse(path)
    load_duckdb(tiny_data_dir)
    run_dbt(["build"])
    yield path
    if previous is None:
        os.environ.pop("OPSMETRICS_DUCKDB_PATH", None)
    else:
        os.environ["OPSMETRICS_DUCKDB_PATH"] = previous


@pytest.fixture
def warehouse(tiny_warehouse: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection to the built tiny warehouse, closed after the test
    (an open reader would block the next dbt run)."""
    use_warehouse(tiny_warehouse)
    connection = duckdb.connect(str(tiny_warehouse), read_only=True)
    yield connection
    connection.close()


@pytest.fixture(scope="session")
def postgres_server() -> dict[str, str | int]:
    """The configured PostgreSQL server's connection settings (OPSMETRICS_PG_*).

    Without OPSMETRICS_PG_HOST the Postgres tests skip, unless OPSMETRICS_REQUIRE_POSTGRES=1
    (make test-postgres), where they fail: CI must never pass by skipping them.
    """
    if not os.environ.get("OPSMETRICS_PG_HOST"):
        reason = (
            "no PostgreSQL server configured (set OPSMETRICS_PG_HOST or run make test-postgres)"
        )
        if os.environ.get(REQUIRE_POSTGRES_ENV) == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    return postgres_params()


@contextmanager
def fresh_postgres_database(server: dict[str, str | int], name: str) -> Iterator[None]:
    """Create database `name`, point the loader and dbt at it, drop it afterwards: the tests
    never touch the configured database's own schemas (needs the CREATEDB privilege)."""
    admin = psycopg2.connect(**server)
    admin.autocommit = True
    database = sql.Identifier(name)
    with admin.cursor() as cursor:
        cursor.execute(sql.SQL("drop database if exists {} with (force)").format(database))
        cursor.execute(sql.SQL("create database {}").format(database))
    previous = os.environ.get("OPSMETRICS_PG_DATABASE")
    os.environ["OPSMETRICS_PG_DATABASE"] = name
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("OPSMETRICS_PG_DATABASE", None)
        else:
            os.environ["OPSMETRICS_PG_DATABASE"] = previous
        with admin.cursor() as cursor:
            cursor.execute(sql.SQL("drop database if exists {} with (force)").format(database))
        admin.close()


@pytest.fixture(scope="session")
def tiny_postgres(
    postgres_server: dict[str, str | int], tiny_data_dir: Path
) -> Iterator[dict[str, str | int]]:
    """A fresh Postgres database with the same tiny data as `tiny_warehouse` loaded and the
    whole project built on it; yields its connection settings."""
    with fresh_postgres_database(postgres_server, f"opsmetrics_pytest_{os.getpid()}"):
        load_postgres(tiny_data_dir)
        run_dbt(["build"], target="postgres")
        yield postgres_params()
