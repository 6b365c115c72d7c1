"""`opsmetrics publish` without dbt: the gate (build and quality results), the copy, the
atomic swap, and the lock-conflict line. Warehouses here are small hand-made DuckDB files."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from opsmetrics.cli import app
from opsmetrics.locking import (
    WarehouseLockedError,
    build_lock,
    ensure_warehouse_free,
    lock_conflict_message,
)
from opsmetrics.postgres_reader import ReaderRoleError, setup_reader_role
from opsmetrics.publish import (
    METADATA_TABLE,
    BuildRecord,
    PublishRefusedError,
    check_quality,
    last_build,
    publish,
    write_snapshot,
)

BUILT = datetime(2026, 1, 5, 6, 0, tzinfo=UTC)


def run_results(path: Path, statuses: list[str], which: str = "build") -> Path:
    path.write_text(
        json.dumps(
            {
                "metadata": {"invocation_id": "inv-1", "generated_at": BUILT.isoformat()},
                "args": {"which": which},
                "results": [
                    {"unique_id": f"model.opsmetrics.node_{i}", "status": status}
                    for i, status in enumerate(statuses)
                ],
            }
        )
    )
    return path


def quality_result(
    path: Path, warehouse: Path, status: str = "passed", at: datetime | None = None
) -> Path:
    path.write_text(
        json.dumps(
            {
                "status": status,
                "target": "duckdb",
                "warehouse": str(warehouse),
                "finished_at": (at or BUILT + timedelta(minutes=5)).isoformat(),
                "passed": 10,
                "failed": 0 if status == "passed" else 2,
                "errors": 0,
            }
        )
    )
    return path


def make_warehouse(path: Path, mrr: float = 100.0, with_metrics: bool = True) -> Path:
    with duckdb.connect(str(path)) as connection:
        for schema in ("raw", "staging", "marts", "metrics", "alerts"):
            connection.execute(f"create schema if not exists {schema}")
        connection.execute("create or replace table raw.payments as select 1 as secret")
        connection.execute(
            "create or replace table staging.stg_billing__payments as "
            "select timestamp '2026-01-04 23:00:00' as _loaded_at"
        )
        connection.execute(
            "create or replace table marts.fct_mrr_monthly as "
            f"select date '2026-01-01' as month_start_date, {mrr} as mrr_amount"
        )
        connection.execute(
            "create or replace table alerts.alert_events as select 'f1' as fingerprint"
        )
        if with_metrics:
            connection.execute(
                f"create or replace table metrics.executive_monthly as select {mrr} as mrr"
            )
        else:
            connection.execute("drop table if exists metrics.executive_monthly")
    return path


def read_mrr(path: Path) -> float:
    with duckdb.connect(str(path), read_only=True) as connection:
        return connection.execute("select mrr_amount from marts.fct_mrr_monthly").fetchone()[0]


def test_last_build_accepts_a_successful_build_with_warnings(tmp_path):
    build = last_build(run_results(tmp_path / "r.json", ["success", "pass", "warn"]))
    assert build == BuildRecord("inv-1", BUILT)


def test_last_build_refuses_a_failed_build_naming_the_nodes(tmp_path):
    with pytest.raises(PublishRefusedError, match=r"failed \(2 node\(s\): node_1, node_2\)"):
        last_build(run_results(tmp_path / "r.json", ["success", "error", "fail"]))


def test_last_build_refuses_when_the_last_dbt_command_was_not_a_build(tmp_path):
    with pytest.raises(PublishRefusedError, match="was `dbt run`, not a build"):
        last_build(run_results(tmp_path / "r.json", ["success"], which="run"))


@pytest.mark.parametrize("content", [None, "{not json", '{"results": []}'])
def test_last_build_refuses_missing_or_malformed_results_in_one_line(tmp_path, content):
    path = tmp_path / "r.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(PublishRefusedError) as refused:
        last_build(path)
    assert "\n" not in str(refused.value)


def test_check_quality_refuses_a_failed_run(tmp_path):
    warehouse = tmp_path / "w.duckdb"
    path = quality_result(tmp_path / "q.json", warehouse, status="failed")
    with pytest.raises(PublishRefusedError, match="last quality run failed"):
        check_quality(BuildRecord("inv-1", BUILT), warehouse, path)


def test_check_quality_refuses_a_run_older_than_the_build(tmp_path):
    warehouse = tmp_path / "w.duckdb"
    path = quality_result(tmp_path / "q.json", warehouse, at=BUILT - timedelta(seconds=1))
    with pytest.raises(PublishRefusedError, match="not run since the last dbt build"):
        check_quality(BuildRecord("inv-1", BUILT), warehouse, path)


def test_check_quality_refuses_a_run_on_another_warehouse(tmp_path):
    path = quality_result(tmp_path / "q.json", tmp_path / "other.duckdb")
    with pytest.raises(PublishRefusedError, match=r"other\.duckdb"):
        check_quality(BuildRecord("inv-1", BUILT), tmp_path / "w.duckdb", path)


def test_snapshot_holds_the_published_schemas_and_metadata_only(tmp_path):
    warehouse = make_warehouse(tmp_path / "w.duckdb")
    snapshot = write_snapshot(warehouse, tmp_path / "pub.duckdb", "inv-9")
    assert set(snapshot.tables) == {
        "marts.fct_mrr_monthly",
        "metrics.executive_monthly",
        "alerts.alert_events",
    }
    with duckdb.connect(str(snapshot.path), read_only=True) as connection:
        schemas = {
            s
            for (s,) in connection.execute(
                "select schema_name from information_schema.schemata"
            ).fetchall()
        }
        metadata = connection.execute(
            f"select dbt_invocation_id, data_as_of, storage_version, table_count "
            f"from {METADATA_TABLE}"
        ).fetchall()
    assert {"raw", "staging"}.isdisjoint(schemas)
    assert {"marts", "metrics", "alerts", "published"} <= schemas
    assert metadata == [("inv-9", datetime(2026, 1, 4, 23, 0), "v1.4.0", 3)]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_refused_publish_keeps_the_previous_snapshot(tmp_path):
    warehouse = make_warehouse(tmp_path / "w.duckdb", mrr=100.0)
    out = tmp_path / "pub.duckdb"
    write_snapshot(warehouse, out, "inv-1")
    make_warehouse(warehouse, mrr=200.0)
    failed_build = run_results(tmp_path / "r.json", ["error"])
    with pytest.raises(PublishRefusedError):
        publish(warehouse, out, failed_build, quality_result(tmp_path / "q.json", warehouse))
    assert read_mrr(out) == 100.0


def test_publish_without_metric_tables_is_refused_and_keeps_the_previous_snapshot(tmp_path):
    warehouse = make_warehouse(tmp_path / "w.duckdb", mrr=100.0)
    out = tmp_path / "pub.duckdb"
    write_snapshot(warehouse, out, "inv-1")
    make_warehouse(warehouse, mrr=200.0, with_metrics=False)
    with pytest.raises(PublishRefusedError, match=r"no metrics tables.*export-metrics"):
        write_snapshot(warehouse, out, "inv-2")
    assert read_mrr(out) == 100.0


def test_a_copy_failing_half_way_leaves_the_previous_snapshot_and_no_temporary_file(tmp_path):
    warehouse = make_warehouse(tmp_path / "w.duckdb", mrr=100.0)
    out = tmp_path / "pub.duckdb"
    write_snapshot(warehouse, out, "inv-1")
    with duckdb.connect(str(warehouse)) as connection:
        # A view over a table that is gone: the copy fails after the first tables.
        connection.execute("create table marts.zz_gone as select 1 as x")
        connection.execute("create view marts.zz_view as select * from marts.zz_gone")
        connection.execute("drop table marts.zz_gone")
        connection.execute("update marts.fct_mrr_monthly set mrr_amount = 300")
    with pytest.raises(duckdb.Error):
        write_snapshot(warehouse, out, "inv-2")
    assert read_mrr(out) == 100.0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pub.duckdb", "w.duckdb"]


def test_a_reader_keeps_its_snapshot_while_a_new_one_is_swapped_in(tmp_path):
    warehouse = make_warehouse(tmp_path / "w.duckdb", mrr=100.0)
    out = tmp_path / "pub.duckdb"
    write_snapshot(warehouse, out, "inv-1")
    make_warehouse(warehouse, mrr=200.0)
    with duckdb.connect(str(out), read_only=True) as reader:
        write_snapshot(warehouse, out, "inv-2")
        assert reader.execute("select mrr_amount from marts.fct_mrr_monthly").fetchone() == (100.0,)
    assert read_mrr(out) == 200.0


def test_lock_conflict_message_is_one_line_naming_file_process_and_remedy(tmp_path):
    error = (
        'IO Error: Could not set lock on file "/w/opsmetrics.duckdb": Conflicting lock is '
        "held in /usr/bin/python3.11 (PID 4242) by user root. See also https://duckdb.org"
    )
    message = lock_conflict_message(Exception(error))
    assert message is not None
    assert "\n" not in message
    assert "(PID 4242)" in message
    assert "opsmetrics.duckdb" in message
    assert "wait for that process to finish" in message
    assert lock_conflict_message(Exception("Catalog Error: table x does not exist")) is None


def test_missing_warehouse_is_free_and_not_created(tmp_path):
    ensure_warehouse_free(tmp_path / "none.duckdb")
    assert not (tmp_path / "none.duckdb").exists()


def test_publish_of_a_missing_warehouse_is_refused(tmp_path):
    with pytest.raises(PublishRefusedError, match="no warehouse"):
        write_snapshot(tmp_path / "none.duckdb", tmp_path / "pub.duckdb", "inv-1")


def test_locked_error_is_raised_for_a_warehouse_another_process_writes(tmp_path, hold_duckdb):
    warehouse = make_warehouse(tmp_path / "w.duckdb")
    with hold_duckdb(warehouse), pytest.raises(WarehouseLockedError, match="warehouse locked"):
        ensure_warehouse_free(warehouse, read_only=True)


@pytest.mark.parametrize("role", ["Reader", "reader; drop role postgres", "", "1reader"])
def test_reader_role_refuses_a_bad_name_before_connecting(role):
    with pytest.raises(ReaderRoleError, match="invalid role name"):
        setup_reader_role(role, params={"host": "127.0.0.1", "port": 1})


def test_postgres_reader_command_ends_on_one_line_with_exit_2():
    result = CliRunner().invoke(app, ["postgres-reader", "--role", "Bad Name"])
    assert result.exit_code == 2
    assert result.output.strip().count("\n") == 0
    assert "invalid role name" in result.output


def test_a_second_build_lock_fails_at_once_naming_the_lock_file_and_process(tmp_path):
    warehouse = make_warehouse(tmp_path / "w.duckdb")
    with build_lock(warehouse):
        with pytest.raises(WarehouseLockedError) as locked, build_lock(warehouse):
            pass
        with pytest.raises(WarehouseLockedError):
            ensure_warehouse_free(warehouse, read_only=True)
    message = str(locked.value)
    assert f"by process {os.getpid()}" in message
    assert "w.duckdb.build.lock" in message
    assert "\n" not in message
    ensure_warehouse_free(warehouse)  # released
