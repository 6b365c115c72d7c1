"""Values land at their true precision: a fractional survey score reaches raw as sent
(staging decides about it), and a fraction in an integer column is refused, never
rounded."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import psycopg2
import pytest
from conftest import copy_delivery, fetch_rows, fresh_postgres_database, warehouse_state

from opsmetrics.load import LoadError, load_duckdb
from opsmetrics.load_postgres import load_postgres
from opsmetrics.settings import postgres_params


def with_values(source: Path, target: Path, table: str, replace: str) -> Path:
    """A copy of the delivery where `table`'s first row gets `replace` (a select
    REPLACE list over the row number `n`)."""
    delivery = copy_delivery(source, target)
    path = delivery / f"{table}.parquet"
    with duckdb.connect() as connection:
        connection.execute(
            "create table changed as select * replace ("
            + replace
            + ") from (select *, row_number() over () as n from read_parquet($path))",
            {"path": str(path)},
        )
        connection.execute(f"copy (select * exclude (n) from changed) to '{path}' (format parquet)")
    return delivery


def nps_of_nine_and_a_half(source: Path, target: Path) -> Path:
    return with_values(
        source,
        target,
        "survey_responses",
        "case when n = 1 then 'nps' else survey_type end as survey_type, "
        "case when n = 1 then 9.5 else score end as score",
    )


def test_a_fractional_nps_score_is_loaded_as_sent(
    tiny_data_dir: Path, empty_warehouse: Path, tmp_path: Path
) -> None:
    load_duckdb(nps_of_nine_and_a_half(tiny_data_dir, tmp_path / "fraction"))

    scores = fetch_rows(
        empty_warehouse, "select score from raw.survey_responses where score <> round(score)"
    )
    assert (9.5,) in scores  # the generator plants fractional scores of its own too


def test_a_fraction_in_an_integer_column_is_refused_not_rounded(
    tiny_data_dir: Path, empty_warehouse: Path, tmp_path: Path
) -> None:
    load_duckdb(tiny_data_dir)
    before = warehouse_state(empty_warehouse)
    delivery = with_values(
        tiny_data_dir,
        tmp_path / "seats",
        "subscriptions",
        "case when n = 3 then 2.5 else quantity end as quantity, "
        "_loaded_at + interval 1 day as _loaded_at",
    )

    with pytest.raises(LoadError) as refused:
        load_duckdb(delivery)

    assert str(refused.value) == (
        f"{delivery / 'subscriptions.parquet'}, row 3, column quantity: '2.5' is not a whole "
        "number (contract type integer)"
    )
    assert warehouse_state(empty_warehouse) == before


@pytest.mark.postgres
def test_postgres_keeps_a_fractional_nps_score(
    postgres_server: dict[str, str | int], tiny_data_dir: Path, tmp_path: Path
) -> None:
    delivery = nps_of_nine_and_a_half(tiny_data_dir, tmp_path / "fraction")

    with fresh_postgres_database(postgres_server, f"opsmetrics_pytest_precision_{os.getpid()}"):
        load_postgres(delivery)
        with psycopg2.connect(**postgres_params()) as connection, connection.cursor() as cursor:
            cursor.execute("select score from raw.survey_responses where score <> round(score)")
            scores = cursor.fetchall()
        connection.close()

    assert (9.5,) in scores  # the generator plants fractional scores of its own too


def test_a_raw_table_loaded_before_the_contract_change_keeps_the_fraction_too(
    tiny_data_dir: Path, empty_warehouse: Path, tmp_path: Path
) -> None:
    """Warehouses loaded when the score was an integer column get the contract's type."""
    empty_warehouse.parent.mkdir(parents=True)
    with duckdb.connect(str(empty_warehouse)) as connection:
        connection.execute("create schema raw")
        connection.execute(
            "create table raw.survey_responses as select * replace "
            "(cast(score as bigint) as score) from read_parquet($path)",
            {"path": str(tiny_data_dir / "survey_responses.parquet")},
        )
    delivery = with_values(
        tiny_data_dir,
        tmp_path / "later",
        "survey_responses",
        "case when n = 1 then 'nps' else survey_type end as survey_type, "
        "case when n = 1 then 9.5 else score end as score, "
        "_loaded_at + interval 1 day as _loaded_at",
    )

    load_duckdb(delivery)

    kind = fetch_rows(
        empty_warehouse,
        "select data_type from duckdb_columns() "
        "where table_name = 'survey_responses' and column_name = 'score'",
    )[0][0]
    scores = fetch_rows(
        empty_warehouse, "select score from raw.survey_responses where score <> round(score)"
    )
    assert kind == "DOUBLE" and (9.5,) in scores


def test_a_csv_loaded_at_with_an_offset_is_stored_in_utc(
    tiny_data_dir: Path, empty_warehouse: Path, tmp_path: Path
) -> None:
    delivery = copy_delivery(tiny_data_dir, tmp_path / "offset", ["fx_rates"])
    (delivery / "customers.csv").write_text(
        "customer_id,email,company_name,country,segment,acquisition_channel,signed_up_at,"
        "_loaded_at\n"
        "cus_1,a@example.com,Acme,FR,smb,content,2025-01-01T00:00:00Z,"
        "2025-01-02T03:04:05+02:00\n"
    )

    with pytest.warns(UserWarning, match="treated as empty"):
        load_duckdb(delivery)

    loaded_at = fetch_rows(empty_warehouse, "select _loaded_at from raw.customers")[0][0]
    assert loaded_at.isoformat() == "2025-01-02T01:04:05"
