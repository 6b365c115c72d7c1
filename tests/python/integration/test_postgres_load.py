"""`opsmetrics load --target postgres`: the contract's types, nulls kept apart from empty
strings, and loading the same files twice adds nothing."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import psycopg2
import pytest
from conftest import fresh_postgres_database

from opsmetrics.contract import DUCKDB_TYPES, raw_tables
from opsmetrics.load_postgres import load_postgres
from opsmetrics.settings import postgres_params

pytestmark = pytest.mark.postgres

AWKWARD_NAMES = ["", None, 'Quote " and, comma', "line\nbreak", "back\\slash", "Zoë ☃"]


def write_awkward_files(out: Path) -> None:
    """Every contract table empty except customers, whose company names are awkward text."""
    with duckdb.connect() as connection:
        for name, table in raw_tables().items():
            columns = ", ".join(
                f'cast(null as {DUCKDB_TYPES[c.data_type]}) as "{c.name}"' for c in table.columns
            )
            connection.execute(
                f"copy (select {columns} where false) to '{out / name}.parquet' (format parquet)"
            )
        connection.execute("create table names (position integer, company_name varchar)")
        connection.executemany("insert into names values (?, ?)", list(enumerate(AWKWARD_NAMES)))
        connection.execute(
            f"""
            copy (
                select
                    'cus_' || position as customer_id, 'a@example.com' as email, company_name,
                    'FR' as country, 'smb' as segment, 'content' as acquisition_channel,
                    '2025-01-01T00:00:00Z' as signed_up_at,
                    timestamp '2025-01-02 03:04:05.678901' as _loaded_at
                from names
            ) to '{out / "customers"}.parquet' (format parquet)
            """
        )


@pytest.fixture
def awkward_database(postgres_server: dict[str, str | int], tmp_path: Path) -> Path:
    write_awkward_files(tmp_path)
    with fresh_postgres_database(postgres_server, f"opsmetrics_pytest_load_{os.getpid()}"):
        yield tmp_path


def execute(statement: str) -> None:
    with psycopg2.connect(**postgres_params()) as connection, connection.cursor() as cursor:
        cursor.execute(statement)
    connection.close()


def fetch(query: str) -> list[tuple]:
    with psycopg2.connect(**postgres_params()) as connection, connection.cursor() as cursor:
        cursor.execute(query)
        rows = cursor.fetchall()
    connection.close()
    return rows


def test_loading_keeps_text_nulls_and_timestamps_exactly(awkward_database: Path) -> None:
    inserted = load_postgres(awkward_database)

    assert inserted["customers"] == len(AWKWARD_NAMES)
    assert sum(inserted.values()) == len(AWKWARD_NAMES)
    rows = fetch("select customer_id, company_name, _loaded_at from raw.customers")
    assert sorted(rows) == sorted(
        (f"cus_{position}", name, rows[0][2]) for position, name in enumerate(AWKWARD_NAMES)
    )
    assert rows[0][2].isoformat() == "2025-01-02T03:04:05.678901"


def test_loading_the_same_files_twice_adds_nothing(awkward_database: Path) -> None:
    load_postgres(awkward_database)

    again = load_postgres(awkward_database)

    assert again == dict.fromkeys(raw_tables(), 0)
    assert fetch("select count(*) from raw.customers") == [(len(AWKWARD_NAMES),)]


def test_raw_tables_get_the_contract_types(awkward_database: Path) -> None:
    load_postgres(awkward_database)

    rows = fetch(
        """
        select table_name, column_name, data_type from information_schema.columns
        where table_schema = 'raw' and table_name = 'customers' order by ordinal_position
        """
    )

    assert [row[1] for row in rows] == raw_tables()["customers"].column_names
    assert rows[-1][2] == "timestamp without time zone"
    assert {row[2] for row in rows[:-1]} == {"text"}


def test_replace_empties_the_raw_tables_first_under_dependent_views(
    awkward_database: Path,
) -> None:
    load_postgres(awkward_database)
    execute("create view public.customer_names as select company_name from raw.customers")

    inserted = load_postgres(awkward_database, replace=True)

    assert inserted["customers"] == len(AWKWARD_NAMES)
    assert fetch("select count(*) from raw.customers") == [(len(AWKWARD_NAMES),)]
