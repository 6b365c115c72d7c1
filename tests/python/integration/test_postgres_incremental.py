"""The daily run on Postgres: after a second delivery with late, re-sent and unstamped
rows, the scheduled incremental `dbt build` (models and data tests) leaves every
relation row-equal to a `--full-refresh` build of all the data on Postgres.

The deliveries are those of the DuckDB incremental tests, in one pair split at the same
cutoff: test_operations_incremental's (a new day, late health checks and host samples,
re-sent rows, some with padded keys, unstamped rows in both deliveries, a user loaded
late, an outage running into the new day, late rows for old days, an anonymous_id
identified late and identifications re-sent broken) and test_revenue_incremental's (a new
subscription version, a re-sent seat, a version re-sent unchanged, a customer whose
versions are all re-sent broken, a changed FX rate, a customer loaded late). The first
delivery is built (seeds and models, then the windowed `unique` tests, so their pass is
in the ledger); the second is loaded and `dbt build` runs as the scheduled run does. A
second database loads both deliveries and builds them with `--full-refresh`. Every
relation of the two databases (raw, seeds, staging, intermediate, marts; not the
per-run ledger) must hold the same rows (conftest's `rows_difference`); every
incremental model must have compiled its incremental SQL, and the windowed tests their
window from the cutoff their model re-read from (recorded in the ledger). Both databases
are the session server's (make test-postgres), dropped afterwards.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg2
import pytest
from conftest import (
    LOAD_TIME_COLUMNS,
    UNTESTED_BUILD,
    DataSet,
    compiled_sql,
    fresh_postgres_database,
    rows_difference,
)
from test_operations_incremental import (
    CUTOFF,
    LATE_IDENTIFY_EVENT,
    LATE_REQUEST_ID,
    Identified,
    unstamped_in_both_loads,
    with_late_rows_and_long_outage,
)
from test_postgres_parity import postgres_relations, postgres_rows
from test_revenue_incremental import (
    Changes,
    late_customer,
    load_customer_late,
    second_load_changes,
)
from test_windowed_tests import CUTOFF_IN_SQL, WINDOWED, window_start

from opsmetrics.bench import split_by_loaded_at
from opsmetrics.dbt_invoke import SCHEDULED_RUN_EXCLUDES, run_dbt
from opsmetrics.load import load_duckdb
from opsmetrics.load_postgres import load_postgres
from opsmetrics.settings import postgres_params, scoped_environment

pytestmark = pytest.mark.postgres

# What the MRR and identity cases change, read before and after the second delivery.
MRR_CASES = ("new_version", "resent_changed", "fx_rate", "gone", "late")
IDENTITY_CASES = ("shared", "only")


@dataclass
class Builds:
    incremental: dict[str, str | int]
    full: dict[str, str | int]
    # Compiled SQL of each node (models and tests) in the daily build and the full refresh.
    incremental_sql: dict[str, str]
    full_sql: dict[str, str]
    incremental_models: list[str]
    changes: Changes
    reidentified: dict[str, Identified]
    # The history's daily MRR (before the cutoff) and identity-map row of each case.
    history_mrr: dict[str, list[tuple]]
    history_identity: dict[str, list[tuple]]


def query(params: dict[str, str | int], sql: str, parameters: list[Any] | None = None) -> list:
    connection = psycopg2.connect(**params)
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql, parameters)
            return cursor.fetchall()
    finally:
        connection.close()


def daily_mrr(params: dict[str, str | int], customer: str) -> list[tuple]:
    return query(
        params,
        "select mrr_date, mrr_amount from marts.fct_customer_mrr_daily "
        "where customer_id = %s and mrr_date < %s order by mrr_date",
        [customer, CUTOFF.date()],
    )


def identity(params: dict[str, str | int], anonymous_id: str) -> list[tuple]:
    return query(
        params,
        "select user_id, identified_user_count, identified_at "
        "from intermediate.int_identity_map where anonymous_id = %s",
        [anonymous_id],
    )


def revenue_history(before: Path, warehouse: Path) -> Path:
    """A DuckDB warehouse with the first delivery's priced subscription versions, from
    which second_load_changes picks the versions it changes."""
    with scoped_environment({"OPSMETRICS_DUCKDB_PATH": str(warehouse)}):
        load_duckdb(before)
        run_dbt(["seed"])
        run_dbt(["run", "--select", "+int_subscription_versions_priced"])
    return warehouse


@pytest.fixture(scope="module")
def builds(
    postgres_server: dict[str, str | int], dirty: DataSet, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Builds]:
    root = tmp_path_factory.mktemp("postgres_incremental")
    data, before, after = root / "data", root / "before", root / "after"
    reidentified = with_late_rows_and_long_outage(dirty.out, data)
    split_by_loaded_at(data, before, after, CUTOFF)
    unstamped_in_both_loads(before, after)
    late = late_customer(dirty.out)
    load_customer_late(before, after, late)
    changes = second_load_changes(
        revenue_history(before, root / "revenue_history.duckdb"), after, late
    )

    with fresh_postgres_database(postgres_server, f"opsmetrics_pytest_daily_{os.getpid()}"):
        incremental = postgres_params()
        load_postgres(before)
        run_dbt(UNTESTED_BUILD, target="postgres")
        run_dbt(["test", "--select", *WINDOWED], target="postgres")
        history_mrr = {case: daily_mrr(incremental, getattr(changes, case)) for case in MRR_CASES}
        history_identity = {
            case: identity(incremental, reidentified[case].anonymous_id) for case in IDENTITY_CASES
        }
        load_postgres(after)
        daily = run_dbt(["build", *SCHEDULED_RUN_EXCLUDES], target="postgres")

        with fresh_postgres_database(postgres_server, f"opsmetrics_pytest_full_{os.getpid()}"):
            full = postgres_params()
            load_postgres(before)
            load_postgres(after)
            full_refresh = run_dbt([*UNTESTED_BUILD, "--full-refresh"], target="postgres")
            yield Builds(
                incremental,
                full,
                compiled_sql(daily),
                compiled_sql(full_refresh),
                [
                    r.node.name
                    for r in daily.result.results
                    if r.node.resource_type == "model"
                    and r.node.config.materialized == "incremental"
                ],
                changes,
                reidentified,
                history_mrr,
                history_identity,
            )


@pytest.mark.parametrize("case", ["new_version", "resent_changed", "fx_rate"])
def test_the_second_delivery_changes_old_days_of_a_customers_mrr(builds, case):
    customer = getattr(builds.changes, case)
    assert builds.history_mrr[case]
    assert builds.history_mrr[case] != daily_mrr(builds.full, customer)


def test_the_second_delivery_removes_one_customer_and_adds_another(builds):
    assert builds.history_mrr["gone"] and not daily_mrr(builds.full, builds.changes.gone)
    assert not builds.history_mrr["late"] and daily_mrr(builds.full, builds.changes.late)


def test_the_second_delivery_re_identifies_anonymous_users(builds):
    """The shared anonymous_id changes user; the only one leaves the map; an anonymous_id
    identified in the second delivery only is attributed to its user."""
    shared, only = (builds.reidentified[case].anonymous_id for case in IDENTITY_CASES)
    assert builds.history_identity["shared"] != identity(builds.full, shared)
    assert builds.history_identity["only"] and not identity(builds.full, only)
    [(late_identified,)] = query(
        builds.full,
        "select count(*) from marts.fct_events events join marts.fct_events late "
        "on events.anonymous_id = late.anonymous_id where late.event_id = %s "
        "and events.event_id <> late.event_id and events.user_id = late.user_id",
        [LATE_IDENTIFY_EVENT],
    )
    assert late_identified > 0


def test_the_second_delivery_holds_late_re_sent_and_unstamped_rows(builds):
    [(late, resent, unstamped, old_day)] = query(
        builds.full,
        "select "
        "(select count(*) from marts.fct_api_requests "
        "where _loaded_at >= %(cutoff)s and request_date < %(day)s), "
        "(select count(*) from (select version_key from staging.base_platform__api_requests "
        "group by version_key having min(_loaded_at) < %(cutoff)s "
        "and max(_loaded_at) >= %(cutoff)s) keys), "
        "(select count(*) from raw.api_requests where _loaded_at is null), "
        "(select count(*) from marts.fct_api_requests "
        "where request_id = %(late)s and request_date < %(day)s - 56)",
        {"cutoff": CUTOFF, "day": CUTOFF.date(), "late": LATE_REQUEST_ID},
    )
    assert late > 0
    assert resent > 0
    assert unstamped > 0
    assert old_day == 1


def test_every_incremental_model_ran_its_incremental_sql(builds):
    """An incremental model that took its full-build path in the daily build compiles
    the SQL of the full refresh."""
    assert {"base_platform__api_requests", "fct_customer_mrr_daily", "int_identity_map"} <= set(
        builds.incremental_models
    )
    full_path = [
        model
        for model in builds.incremental_models
        if builds.incremental_sql[model] == builds.full_sql[model]
    ]
    assert not full_path, f"built as on a full refresh: {full_path}"


def test_the_windowed_unique_tests_read_the_window_their_models_re_read(builds):
    """Each windowed test of the daily build reads the keys loaded since the cutoff its
    model's incremental SQL re-read from, and passed (the build fails otherwise). The
    cutoff comes from the model's compiled SQL: the ledger's row of that build is trimmed
    once the model's tests pass."""
    models = {WINDOWED[0]: "base_platform__api_requests", WINDOWED[1]: "fct_api_requests"}
    for test, model in models.items():
        cutoff = CUTOFF_IN_SQL.search(builds.incremental_sql[model])
        assert cutoff is not None, f"{model} did not re-read from a cutoff"
        assert window_start(builds.incremental_sql[test]) == cutoff.group(1)


def same_warehouse(column: str, value: Any) -> Any:
    """Values as the comparison reads them: load times left out, numerics as floats."""
    if column in LOAD_TIME_COLUMNS:
        return None
    return float(value) if isinstance(value, Decimal) else value


def test_every_relation_equals_the_full_refresh_row_for_row(builds):
    incremental = psycopg2.connect(**builds.incremental)
    full = psycopg2.connect(**builds.full)
    try:
        with incremental.cursor() as daily_cursor, full.cursor() as full_cursor:
            relations = postgres_relations(daily_cursor)
            assert relations == postgres_relations(full_cursor)
            assert {"raw", "seeds", "staging", "intermediate", "marts"} <= {
                schema for schema, _ in relations
            }
            differences = []
            for relation in sorted(relations):
                columns, daily_rows = postgres_rows(daily_cursor, relation)
                full_columns, full_rows = postgres_rows(full_cursor, relation)
                label = ".".join(relation)
                if columns != full_columns:
                    differences.append(f"{label}: columns {columns} vs {full_columns}")
                elif difference := rows_difference(
                    label,
                    columns,
                    ("incremental", daily_rows),
                    ("full refresh", full_rows),
                    same_warehouse,
                ):
                    differences.append(difference)
    finally:
        incremental.close()
        full.close()
    assert not differences, "\n".join(differences)
