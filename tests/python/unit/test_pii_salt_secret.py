"""The PII salt is bound to DuckDB sessions as a parameter, never written into SQL."""

from __future__ import annotations

import duckdb
import pytest

from opsmetrics.pii_salt import (
    DEMO_SALT,
    SALT_ENV,
    Plugin,
    _raw_holds_real_addresses,
    emails_outside_reserved_domains,
    postgres_options,
)


@pytest.mark.parametrize("salt", ["s3cret", "o'brien", "a b\\c", "'; drop table x; --"])
def test_any_salt_string_is_bound_to_connections_and_cursors(monkeypatch, salt: str) -> None:
    monkeypatch.setenv(SALT_ENV, salt)
    plugin = Plugin("pii_salt", {})
    with duckdb.connect() as connection:
        plugin.configure_connection(connection)
        cursor = connection.cursor()
        plugin.configure_cursor(cursor)
        assert connection.execute("select getvariable('pii_salt')").fetchone()[0] == salt
        assert cursor.execute("select getvariable('pii_salt')").fetchone()[0] == salt
        assert connection.execute("select count(*) from duckdb_tables()").fetchone()[0] == 0


def test_without_the_variable_the_salt_is_the_public_demo_salt(monkeypatch) -> None:
    monkeypatch.delenv(SALT_ENV, raising=False)
    with duckdb.connect() as connection:
        Plugin("pii_salt", {}).configure_cursor(connection)
        assert connection.execute("select getvariable('pii_salt')").fetchone()[0] == DEMO_SALT


def test_generated_addresses_are_told_apart_from_real_ones() -> None:
    emails = ["ann.lee@acme-retail.example", "bo@EXAMPLE.COM ", "x@test", "jane@gmail.com"]
    assert emails_outside_reserved_domains(emails) == ["jane@gmail.com"]


def test_the_demo_salt_warning_looks_at_the_raw_addresses() -> None:
    with duckdb.connect() as connection:
        assert not _raw_holds_real_addresses(connection)
        connection.execute("create schema raw")
        connection.execute("create table raw.customers as select 'a@shop.example' as email")
        assert not _raw_holds_real_addresses(connection)
        connection.execute("create table raw.users as select 'real@gmail.com' as email")
        assert _raw_holds_real_addresses(connection)


def test_postgres_options_escape_spaces_and_backslashes() -> None:
    assert postgres_options("a b\\c'd") == "-c opsmetrics.pii_salt=a\\ b\\\\c'd"
