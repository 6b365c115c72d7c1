"""The incremental customer MRR mart equals a full rebuild after a new day and changed
subscription versions land.

As in test_operations_incremental, the tiny data are split by `_loaded_at` at a cutoff:
the first load is built, the second loaded and built incrementally, and the revenue marts
must equal, row for row, a `--full-refresh` build of both loads in another warehouse. The
second load adds a day for every customer and changes old days of a few (all loaded
before every lookback): a new version, dated 30 days before the cutoff, of a subscription
in force since before it; a re-sent version with one more seat; a version re-sent
unchanged (nothing may change); every version of one customer re-sent broken (quarantined:
the customer leaves the mart); a changed FX rate for the day a paid non-USD version
starts; and one customer row loaded only now, whose subscriptions, loaded long before,
were orphans until it arrives (the customer enters the mart with all its old days).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from conftest import END_DATE, DataSet, compiled_sql, fetch_rows

from opsmetrics.bench import split_by_loaded_at
from opsmetrics.dbt_invoke import run_dbt
from opsmetrics.load import load_duckdb
from opsmetrics.settings import scoped_environment

CUTOFF = datetime(END_DATE.year, END_DATE.month, END_DATE.day)
LOADED_AT = CUTOFF + timedelta(hours=3)
# Loaded before this, a row is beyond every lookback of the second run.
OLD = CUTOFF - timedelta(days=5)
NEW_VERSION_FROM = CUTOFF - timedelta(days=30)
REVENUE = ["--select", "+fct_mrr_daily", "+fct_feature_adoption_weekly"]
MARTS = [
    "marts.fct_customer_mrr_daily",
    "marts.fct_mrr_daily",
    "marts.fct_feature_adoption_weekly",
]


@dataclass
class Changes:
    """The customers whose old days the second load changes, by how."""

    new_version: str
    resent_changed: str
    resent_unchanged: str
    gone: str
    fx_rate: str
    late: str


@dataclass
class Builds:
    incremental: Path
    full: Path
    history: Path
    incremental_sql: str
    changes: Changes


def late_customer(source: Path) -> str:
    """A customer with an active subscription whose rows, and its own, were all loaded
    before OLD: moved to the second load, it makes those subscriptions orphans first."""
    with duckdb.connect() as connection:
        return connection.execute(
            f"select min(customers.customer_id) "
            f"from read_parquet('{source / 'customers.parquet'}') customers "
            f"join read_parquet('{source / 'subscriptions.parquet'}') subscriptions "
            "on customers.customer_id = subscriptions.customer_id "
            "where subscriptions.status = 'active' and customers._loaded_at < ? "
            "and customers.customer_id not in (select customer_id from "
            f"read_parquet('{source / 'subscriptions.parquet'}') "
            "where _loaded_at >= ? or _loaded_at is null)",
            [OLD, OLD],
        ).fetchone()[0]


def load_customer_late(before: Path, after: Path, customer: str) -> None:
    """Move `customer`'s row from the first load's customers file to the second's."""
    first, second = before / "customers.parquet", after / "customers.parquet"
    with duckdb.connect() as connection:
        connection.execute(f"create temp table first as select * from read_parquet('{first}')")
        connection.execute(
            f"create temp table second as select * from read_parquet('{second}') "
            f"union all by name select * replace (timestamp '{LOADED_AT}' as _loaded_at) "
            "from first where customer_id = ?",
            [customer],
        )
        connection.execute(
            f"copy (select * from first where customer_id <> '{customer}') "
            f"to '{first}' (format parquet)"
        )
        connection.execute(f"copy second to '{second}' (format parquet)")


# Paid versions staged from the first load, in force from before NEW_VERSION_FROM, of
# customers whose every version was loaded before OLD; one per customer, in order.
CANDIDATES = f"""
    select
        priced.customer_id,
        priced.subscription_id,
        priced.original_currency,
        base.valid_from_text,
        priced.valid_from,
        priced.valid_to
    from intermediate.int_subscription_versions_priced priced
    join staging.base_billing__subscriptions base
        on priced.subscription_id = base.subscription_id and priced.valid_from = base.valid_from
        and base.duplicate_rank = 1
    where priced.mrr_amount > 0 and priced.valid_from < timestamp '{NEW_VERSION_FROM}'
        and priced.customer_id not in (
            select customer_id from staging.base_billing__subscriptions
            where _loaded_at >= timestamp '{OLD}' or _loaded_at is null
        )
    qualify row_number() over (
        partition by priced.customer_id order by priced.valid_from desc
    ) = 1
    order by priced.customer_id
"""


def second_load_changes(history: Path, after: Path, late: str) -> Changes:
    """Add the second load's changes to `after` (subscriptions and FX rates), chosen from
    what the history warehouse staged; returns the customers they change."""
    with duckdb.connect(str(history), read_only=True) as connection:
        candidates = connection.execute(CANDIDATES).fetchall()
        current = [row for row in candidates if row[5] is None and row[0] != late]
        others = [row for row in candidates if row[0] not in (late, current[0][0])]
        foreign = next(row for row in others[3:] if row[2] != "USD")
        new_version, changed, unchanged, gone = current[0], others[0], others[1], others[2]
        raw = "select * from raw.subscriptions where subscription_id = ? and trim(valid_from) = ?"
        stamped = f"timestamp '{LOADED_AT}' as _loaded_at"
        new_from = NEW_VERSION_FROM.strftime("%Y-%m-%dT%H:%M:%S+00:00")
        sent = [
            (
                f"select * replace (quantity * 2 as quantity, '{new_from}' as valid_from, "
                f"{stamped}) from ({raw} limit 1)",
                (new_version[1], new_version[3]),
            ),
            (
                f"select * replace (quantity + 1 as quantity, {stamped}) from ({raw} limit 1)",
                (changed[1], changed[3]),
            ),
            (f"select * replace ({stamped}) from ({raw} limit 1)", (unchanged[1], unchanged[3])),
        ]
        gone_versions = connection.execute(
            "select subscription_id, valid_from_text from staging.base_billing__subscriptions "
            "where customer_id = ? and duplicate_rank = 1 and quarantine_reason is null",
            [gone[0]],
        ).fetchall()
        sent += [
            (f"select * replace (-1 as quantity, {stamped}) from ({raw} limit 1)", version)
            for version in gone_versions
        ]
        rows = [connection.execute(sql, list(parameters)).df() for sql, parameters in sent]
        fx_rate = connection.execute(
            "select * replace (rate_to_usd * 1.05 as rate_to_usd, "
            f"{stamped}) from raw.fx_rates where currency = ? "
            "and try_cast(trim(rate_date) as date) = cast(? as date) limit 1",
            [foreign[2], foreign[4]],
        ).df()
    with duckdb.connect() as connection:
        for table, frames in (("subscriptions", rows), ("fx_rates", [fx_rate])):
            path = after / f"{table}.parquet"
            union = " union all by name ".join(
                f"select * from frame_{i}" for i in range(len(frames))
            )
            for i, frame in enumerate(frames):
                connection.register(f"frame_{i}", frame)
            connection.execute(
                f"create temp table {table} as select * from read_parquet('{path}') "
                f"union all by name {union}"
            )
            connection.execute(f"copy {table} to '{path}' (format parquet)")
    return Changes(new_version[0], changed[0], unchanged[0], gone[0], foreign[0], late)


@pytest.fixture(scope="module")
def builds(dirty: DataSet, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Builds]:
    root = tmp_path_factory.mktemp("revenue_incremental")
    before, after = root / "before", root / "after"
    split_by_loaded_at(dirty.out, before, after, CUTOFF)
    late = late_customer(dirty.out)
    load_customer_late(before, after, late)

    incremental = root / "incremental.duckdb"
    history = root / "history.duckdb"
    with scoped_environment({"OPSMETRICS_DUCKDB_PATH": str(incremental)}):
        load_duckdb(before)
        run_dbt(["seed"])
        run_dbt(["run", *REVENUE])
        shutil.copy(incremental, history)
        changes = second_load_changes(history, after, late)
        load_duckdb(after)
        result = run_dbt(
            ["build", *REVENUE, "--exclude", "test_type:unit", "--indirect-selection", "cautious"]
        )
        incremental_sql = compiled_sql(result)["fct_customer_mrr_daily"]

    full = root / "full.duckdb"
    with scoped_environment({"OPSMETRICS_DUCKDB_PATH": str(full)}):
        load_duckdb(before)
        load_duckdb(after)
        run_dbt(["seed"])
        run_dbt(["run", "--full-refresh", *REVENUE])

    yield Builds(incremental, full, history, incremental_sql, changes)


def daily_mrr(path: Path, customer: str) -> list[tuple]:
    return fetch_rows(
        path,
        "select mrr_date, mrr_amount from marts.fct_customer_mrr_daily "
        "where customer_id = ? and mrr_date < ? order by mrr_date",
        [customer, CUTOFF.date()],
    )


@pytest.mark.parametrize("how", ["new_version", "resent_changed", "fx_rate"])
def test_the_second_load_changes_old_days_of_a_customer(builds, how):
    customer = getattr(builds.changes, how)
    before, after = daily_mrr(builds.history, customer), daily_mrr(builds.full, customer)
    assert before
    assert before != after


def test_a_version_re_sent_unchanged_changes_nothing(builds):
    """On the days the first build holds; the second adds days after them."""
    customer = builds.changes.resent_unchanged
    before = daily_mrr(builds.history, customer)
    assert before == daily_mrr(builds.full, customer)[: len(before)]


def test_a_customer_whose_versions_are_all_quarantined_leaves_the_mart(builds):
    assert daily_mrr(builds.history, builds.changes.gone)
    assert daily_mrr(builds.full, builds.changes.gone) == []


def test_a_customer_loaded_late_enters_the_mart_with_its_old_days(builds):
    assert daily_mrr(builds.history, builds.changes.late) == []
    assert len(daily_mrr(builds.full, builds.changes.late)) > 30


def test_the_second_load_adds_a_day_for_every_customer(builds):
    [(last_before,)] = fetch_rows(
        builds.history, "select max(mrr_date) from marts.fct_customer_mrr_daily"
    )
    [(last_after, customers_on_it, customers)] = fetch_rows(
        builds.full,
        "select max(mrr_date), count(case when mrr_date = (select max(mrr_date) "
        "from marts.fct_customer_mrr_daily) then 1 end), count(distinct customer_id) "
        "from marts.fct_customer_mrr_daily",
    )
    assert last_after > last_before
    assert customers_on_it == customers


def test_the_second_build_ran_incrementally(builds):
    assert "last_built_date" in builds.incremental_sql


@pytest.mark.parametrize("table", MARTS)
def test_incremental_build_equals_full_refresh_row_for_row(builds, table):
    """Exactly: `except all` both ways, numerics compared as numerics."""
    with duckdb.connect() as connection:
        connection.execute(f"attach '{builds.incremental}' as incremental (read_only)")
        connection.execute(f"attach '{builds.full}' as full_refresh (read_only)")
        [(missing, extra, rows)] = connection.execute(
            f"select (select count(*) from (select * from full_refresh.{table} "
            f"except all select * from incremental.{table})), "
            f"(select count(*) from (select * from incremental.{table} "
            f"except all select * from full_refresh.{table})), "
            f"(select count(*) from full_refresh.{table})"
        ).fetchall()
    assert rows > 0
    assert (missing, extra) == (0, 0)
