"""Issue 12, staging half: staging trusts no input, keeps the same copy and builds the same
marts on every run, and never lets the PII salt into SQL text or artefacts.

Three extra warehouses are built from the session's tiny data (each a full `dbt build`):
the same raw rows in another physical order, the rows the generator left clean (the
"good rows" of the fuzz test), and small edits of a copy of the tiny warehouse for the
issue's scenarios.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from conftest import DataSet, execute_on, use_warehouse

from opsmetrics import PROJECT_DIR
from opsmetrics.contract import raw_tables
from opsmetrics.dbt_invoke import DbtError, run_dbt
from opsmetrics.load import load_duckdb
from opsmetrics.pii_salt import SALT_ENV

# A salt no artefact could hold by chance, with a quote that would break a SQL literal.
TEST_SALT = "pytest-salt-o'brien-9c41e7d2"
# Columns that say when rows were loaded: a re-sent copy is staged with its own, later
# _loaded_at, so they differ between a dirty build and the build of its good rows.
LOAD_TIME_MARK = "loaded_at"


def _attached(a: Path, b: Path) -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    connection.execute(f"attach '{a}' as a (read_only)")
    connection.execute(f"attach '{b}' as b (read_only)")
    return connection


def _tables(connection: duckdb.DuckDBPyConnection, schema: str) -> list[str]:
    return [
        row[0]
        for row in connection.execute(
            "select table_name from information_schema.tables "
            "where table_catalog = 'a' and table_schema = ? order by 1",
            [schema],
        ).fetchall()
    ]


def _differing_rows(
    connection: duckdb.DuckDBPyConnection, schema: str, table: str, columns: str = "*"
) -> int:
    """Rows in one warehouse's table and not in the other's, both ways (bag semantics;
    nulls compare equal)."""
    return connection.execute(
        f"""
        select
            (select count(*) from (select {columns} from a.{schema}.{table}
                except all select {columns} from b.{schema}.{table}))
            + (select count(*) from (select {columns} from b.{schema}.{table}
                except all select {columns} from a.{schema}.{table}))
        """
    ).fetchone()[0]


@pytest.fixture(scope="module")
def reordered_warehouse(
    tmp_path_factory: pytest.TempPathFactory, tiny_data_dir: Path, tiny_warehouse: Path
) -> Iterator[Path]:
    """The tiny data loaded again with every raw table's rows in reverse order, built."""
    path = tmp_path_factory.mktemp("reordered") / "reordered.duckdb"
    use_warehouse(path)
    load_duckdb(tiny_data_dir)
    with duckdb.connect(str(path)) as connection:
        for name in raw_tables():
            connection.execute(
                f"create or replace table raw.{name} as "
                f"select * from raw.{name} order by rowid desc"
            )
    run_dbt(["build"])
    yield path
    use_warehouse(tiny_warehouse)


def test_staging_keeps_the_same_copy_whatever_order_raw_rows_arrive_in(
    tiny_warehouse: Path, reordered_warehouse: Path, tiny_manifest: dict
) -> None:
    """Copies of a key loaded at the same instant (the generator's tied_duplicate class)
    are ranked by the whole row, not by the order the warehouse reads them in."""
    assert all(t["defects"].get("tied_duplicate") for t in tiny_manifest["tables"].values())
    connection = _attached(tiny_warehouse, reordered_warehouse)
    base_models = [t for t in _tables(connection, "staging") if t.startswith("base_")]
    assert len(base_models) >= len(raw_tables())
    columns = "record_key, raw_record, _loaded_at, duplicate_rank, quarantine_reason"
    for table in base_models:
        assert _differing_rows(connection, "staging", table, columns) == 0, table


def test_every_mart_is_bit_identical_across_two_builds_of_the_same_input(
    tiny_warehouse: Path, reordered_warehouse: Path
) -> None:
    connection = _attached(tiny_warehouse, reordered_warehouse)
    marts = _tables(connection, "marts")
    assert len(marts) > 20
    for table in marts:
        assert _differing_rows(connection, "marts", table) == 0, table


def _good_rows_select(table: str, dirty: Path, clean: Path) -> str:
    """The clean file's rows minus those the generator spoiled in the dirty file (same
    seed: row i of both files is the same row unless a defect changed it; copies are
    appended after the last clean row). A price-free cancellation is not a defect staging
    rejects, so its dirty version stays."""
    columns = raw_tables()[table].column_names
    same = " and ".join(f'd."{c}" is not distinct from c."{c}"' for c in columns)
    accepted = "false"
    if table == "subscriptions":
        price_missing = " or ".join(
            f"d.{c} is null" for c in ("quantity", "unit_amount", "discount_percent", "currency")
        )
        accepted = f"d.status = 'canceled' and ({price_missing})"
    chosen = ", ".join(
        f'case when {accepted} then d."{c}" else c."{c}" end as "{c}"' for c in columns
    )
    return f"""
        select {chosen}
        from read_parquet('{clean}', file_row_number = true) as c
        inner join read_parquet('{dirty}', file_row_number = true) as d
            on c.file_row_number = d.file_row_number
        where ({same}) or ({accepted})
        order by c.file_row_number
    """


@pytest.fixture(scope="module")
def good_rows_warehouse(
    tmp_path_factory: pytest.TempPathFactory,
    tiny_data_dir: Path,
    clean: DataSet,
    tiny_warehouse: Path,
) -> Iterator[Path]:
    """The dirty tiny data's good rows only, loaded and built with TEST_SALT."""
    folder = tmp_path_factory.mktemp("good_rows")
    with duckdb.connect() as connection:
        for table in raw_tables():
            select = _good_rows_select(
                table, tiny_data_dir / f"{table}.parquet", clean.out / f"{table}.parquet"
            )
            connection.execute(f"copy ({select}) to '{folder / table}.parquet' (format parquet)")
    path = tmp_path_factory.mktemp("good_rows_warehouse") / "good.duckdb"
    use_warehouse(path)
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setenv(SALT_ENV, TEST_SALT)
    try:
        load_duckdb(folder)
        # Removing a spoiled user leaves its events orphaned here (in the dirty build they
        # are parent_quarantined, which the share test does not count): thresholds are not
        # what this build is for.
        run_dbt(["build", "--vars", "{quarantine_error_pct: 100}"])
        yield path
    finally:
        monkeypatch.undo()
        use_warehouse(tiny_warehouse)


def test_fuzz_every_kpi_of_the_good_rows_equals_a_build_of_the_good_rows_alone(
    tiny_warehouse: Path, good_rows_warehouse: Path, tiny_manifest: dict
) -> None:
    """Every defect class of the generator (tiny_manifest) is in the dirty build; its marts
    must equal those built from the rows no defect touched, load times aside. (Each class
    is quarantined under its reason and reconciled: test_staging.py.)"""
    planted = {c for t in tiny_manifest["tables"].values() for c, n in t["defects"].items() if n}
    assert {
        "non_finite_number", "implausible_value", "unknown_currency", "tied_duplicate",
        "missing_loaded_at", "resent_invalid_row", "canceled_without_price",
    } <= planted  # fmt: skip
    connection = _attached(tiny_warehouse, good_rows_warehouse)
    compared = 0
    for table in _tables(connection, "marts"):
        if table == "fct_staging_reconciliation":
            continue
        columns = [
            row[0]
            for row in connection.execute(
                "select column_name from information_schema.columns where table_catalog = 'a' "
                "and table_schema = 'marts' and table_name = ? order by ordinal_position",
                [table],
            ).fetchall()
            if LOAD_TIME_MARK not in row[0]
        ]
        selected = ", ".join(f'"{c}"' for c in columns)
        assert _differing_rows(connection, "marts", table, selected) == 0, table
        compared += 1
    assert compared > 20


def _artefact_files() -> Iterator[Path]:
    for folder in (PROJECT_DIR / "logs", PROJECT_DIR / "target"):
        yield from (p for p in folder.rglob("*") if p.is_file())


def test_the_pii_salt_reaches_no_log_compiled_sql_or_artefact(good_rows_warehouse: Path) -> None:
    """The build above ran with TEST_SALT: no file dbt wrote holds it."""
    needle = TEST_SALT.encode()
    files = list(_artefact_files())
    names = {p.name for p in files}
    assert {"dbt.log", "manifest.json", "run_results.json"} <= names
    assert any("compiled" in p.parts for p in files) and any("run" in p.parts for p in files)
    leaks = [str(p) for p in files if needle in p.read_bytes()]
    assert leaks == []


def test_emails_are_hashed_with_the_session_salt(
    good_rows_warehouse: Path, tiny_warehouse: Path, clean: DataSet
) -> None:
    customer_id, email = clean.query("select customer_id, email from customers limit 1")[0]
    expected = hashlib.md5((TEST_SALT + email.strip().lower()).encode()).hexdigest()
    connection = _attached(good_rows_warehouse, tiny_warehouse)
    salted, demo = connection.execute(
        "select a_c.email_hash, b_c.email_hash from a.staging.stg_app__customers a_c "
        "join b.staging.stg_app__customers b_c using (customer_id) where customer_id = ?",
        [customer_id],
    ).fetchone()
    assert salted == expected
    assert demo != salted


def test_a_fully_quarantined_customer_table_fails_the_build(scratch_warehouse: Path) -> None:
    """Issue scenario: customers with blank attributes. The tiny data's 74 customers are
    below quarantine_min_rows, so the share is not judged; the empty staging table stops
    the build. With the floor lowered, the quarantined share errors too."""
    execute_on(scratch_warehouse, "update raw.customers set segment = ''")
    selection = ["--select", "base_app__customers", "stg_app__customers"]
    with pytest.raises(DbtError, match="not_empty_when_stg_app__customers"):
        run_dbt(["build", *selection])
    with pytest.raises(DbtError, match="quarantined_share_base_app__customers"):
        run_dbt(["build", *selection, "--vars", "{quarantine_min_rows: 10}"])


def test_cancellations_without_price_end_subscriptions_as_before(
    scratch_warehouse: Path, tiny_warehouse: Path
) -> None:
    """Issue scenario: every cancellation version sent with blank price fields. They are
    staged, so MRR is unchanged (it was 30x too high when they were quarantined)."""
    execute_on(
        scratch_warehouse,
        "update raw.subscriptions set quantity = null, unit_amount = null, "
        "discount_percent = null, currency = null where lower(trim(status)) = 'canceled'",
    )
    run_dbt(["run", "--select", "base_billing__subscriptions+"])
    connection = _attached(tiny_warehouse, scratch_warehouse)
    assert connection.execute(
        "select count(*) from b.staging.stg_billing__subscriptions "
        "where status = 'canceled' and unit_amount is null"
    ).fetchone()[0]
    for table in ("fct_mrr_monthly", "fct_customer_mrr_monthly"):
        assert _differing_rows(connection, "marts", table) == 0, table


def test_quarantining_every_cancellation_fails_the_build(scratch_warehouse: Path) -> None:
    """Issue scenario: every cancellation quarantined (here: unparseable valid_from) would
    leave every subscription active forever; cancellations are ~20 % of the versions, so
    the quarantined share errors."""
    execute_on(
        scratch_warehouse,
        "update raw.subscriptions set valid_from = 'not-a-date-' || subscription_id "
        "where lower(trim(status)) = 'canceled'",
    )
    with pytest.raises(DbtError, match="quarantined_share_base_billing__subscriptions"):
        run_dbt(["build", "--select", "base_billing__subscriptions"])


def test_a_request_without_loaded_at_is_neither_staged_nor_in_the_request_fact(
    scratch_warehouse: Path,
) -> None:
    """Issue item 7: the incremental fact reads new rows by _loaded_at, so a row without
    one was staged but never reached it. It is now quarantined: fact == staging."""
    execute_on(
        scratch_warehouse,
        """
        insert into raw.api_requests
        select 'req_new_stamped', service, endpoint, method, status_code, response_time_ms,
            customer_id, requested_at, (select max(_loaded_at) from raw.api_requests)
        from raw.api_requests where request_id = (select min(request_id) from raw.api_requests)
        union all
        select 'req_new_unstamped', service, endpoint, method, status_code, response_time_ms,
            customer_id, requested_at, null
        from raw.api_requests where request_id = (select min(request_id) from raw.api_requests)
        """,
    )
    run_dbt(
        [
            "run",
            "--select",
            "base_platform__api_requests",
            "stg_platform__api_requests",
            "stg_platform__quarantine",
            "fct_api_requests",
        ]
    )
    with duckdb.connect(str(scratch_warehouse), read_only=True) as connection:
        only_in_one = connection.execute(
            """
            select count(*) from (
                (select request_id from staging.stg_platform__api_requests
                 except select request_id from marts.fct_api_requests)
                union all
                (select request_id from marts.fct_api_requests
                 except select request_id from staging.stg_platform__api_requests)
            )
            """
        ).fetchone()[0]
        reasons = dict(
            connection.execute(
                "select record_key, reason from staging.stg_platform__quarantine "
                "where record_key like 'req_new_%'"
            ).fetchall()
        )
        in_fact = connection.execute(
            "select count(*) from marts.fct_api_requests where request_id = 'req_new_stamped'"
        ).fetchone()[0]
    assert only_in_one == 0
    assert reasons == {"req_new_unstamped": "missing_loaded_at"}
    assert in_fact == 1
