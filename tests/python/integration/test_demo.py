"""`make demo` loads a new data set over the old one: its build must forget the old one."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import duckdb
import pytest
from conftest import END_DATE, DataSet

from opsmetrics.dbt_invoke import FULL_BUILD_ARGS, run_dbt
from opsmetrics.load import load_duckdb

REQUESTS = [
    "--select",
    "+fct_api_requests",
    "+stg_platform__api_requests",
    "--resource-type",
    "model",
]


def test_the_demo_build_keeps_no_request_of_the_replaced_data_set(
    dirty: DataSet, make_data, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The earlier data set runs later and with another seed, so an incremental build
    would keep most of its requests (its loads lie beyond the new data's cutoff)."""
    warehouse = tmp_path / "demo.duckdb"
    monkeypatch.setenv("OPSMETRICS_DUCKDB_PATH", str(warehouse))
    earlier = make_data(seed=11, end_date=END_DATE + timedelta(days=60))
    load_duckdb(earlier.out, replace=True)
    run_dbt([*FULL_BUILD_ARGS, *REQUESTS])
    load_duckdb(dirty.out, replace=True)
    run_dbt([*FULL_BUILD_ARGS, *REQUESTS])

    with duckdb.connect(str(warehouse), read_only=True) as connection:
        fact_only, staged_only = connection.execute(
            """
            select
                (select count(*) from (
                    select request_id, requested_at from marts.fct_api_requests
                    except select request_id, requested_at
                    from staging.stg_platform__api_requests
                )),
                (select count(*) from (
                    select request_id, requested_at from staging.stg_platform__api_requests
                    except select request_id, requested_at from marts.fct_api_requests
                ))
            """
        ).fetchone()
    assert (fact_only, staged_only) == (0, 0)
