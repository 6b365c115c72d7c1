"""The Postgres reader role (`opsmetrics postgres-reader`): SELECT on marts and metrics,
present and future, and nothing else."""

from __future__ import annotations

import psycopg2
import pytest
from conftest import drop_role
from psycopg2 import errors

from opsmetrics.postgres_reader import setup_reader_role

pytestmark = pytest.mark.postgres
ROLE = "opsmetrics_reader_pytest"


@pytest.fixture
def reader(tiny_postgres: dict[str, str | int]):
    """A connection as the reader role, set up on the tiny Postgres build; dropped after."""
    assert setup_reader_role(ROLE, "reader-pytest-password", tiny_postgres) == ["marts", "metrics"]
    # Idempotent: a second run changes nothing and does not fail.
    setup_reader_role(ROLE, "reader-pytest-password", tiny_postgres)
    connection = psycopg2.connect(
        **{**tiny_postgres, "user": ROLE, "password": "reader-pytest-password"}
    )
    connection.autocommit = True
    yield connection
    connection.close()
    drop_role(tiny_postgres, ROLE)


def query(connection, sql: str) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchall() if cursor.description else []


def test_reader_reads_the_marts(reader):
    assert query(reader, "select count(*) from marts.fct_mrr_monthly")[0][0] > 0


@pytest.mark.parametrize(
    "statement",
    [
        "select count(*) from raw.subscriptions",
        "select count(*) from staging.stg_billing__subscriptions",
        "insert into marts.fct_mrr_monthly (month_start_date) values (date '2020-01-01')",
        "delete from marts.fct_mrr_monthly",
        "create table marts.reader_was_here (x int)",
        "create table metrics.reader_was_here (x int)",
        "drop table marts.fct_mrr_monthly",
    ],
)
def test_reader_cannot_write_or_read_raw(reader, statement):
    with pytest.raises(errors.InsufficientPrivilege):
        query(reader, statement)


def test_tables_built_after_the_setup_are_readable(reader, tiny_postgres):
    admin = psycopg2.connect(**tiny_postgres)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute("create table metrics.reader_future_table as select 42 as answer")
    try:
        assert query(reader, "select answer from metrics.reader_future_table") == [(42,)]
    finally:
        with admin.cursor() as cursor:
            cursor.execute("drop table metrics.reader_future_table")
        admin.close()
