"""The publish/read contract under concurrency: a reader on the published snapshot never
blocks a `dbt build` and never sees half a snapshot; a second build, and the commands
that read the warehouse, fail at once with one line naming the lock while it is held."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest

from opsmetrics import PROJECT_DIR
from opsmetrics.locking import WarehouseLockedError, build_lock_path
from opsmetrics.publish import METADATA_TABLE, write_snapshot

BIN = Path(sys.executable).parent


def command(args: list[str], warehouse: Path) -> subprocess.CompletedProcess:
    """A project command as a user runs it, on `warehouse`."""
    return subprocess.run(
        args,
        cwd=PROJECT_DIR,
        env={**os.environ, "OPSMETRICS_DUCKDB_PATH": str(warehouse), "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def assert_one_lock_line(done: subprocess.CompletedProcess, code: int, warehouse: Path) -> None:
    output = (done.stdout + done.stderr).strip()
    assert done.returncode == code, output
    assert "Traceback" not in output
    lines = [line for line in output.splitlines() if "warehouse locked" in line]
    assert len(lines) == 1, output
    assert str(warehouse) in lines[0]
    assert "wait for that process to finish" in lines[0]


@pytest.fixture
def warehouse_copy(tiny_metric_tables: Path, tmp_path: Path) -> Path:
    # Same file name as the tiny warehouse: dbt-duckdb names the catalog after it, and the
    # manifests this build writes must keep naming relations the other tests query.
    copy = tmp_path / tiny_metric_tables.name
    shutil.copyfile(tiny_metric_tables, copy)
    return copy


def test_reader_on_the_snapshot_never_blocks_a_build_and_a_second_build_fails_at_once(
    warehouse_copy: Path, tmp_path: Path
):
    snapshot = write_snapshot(warehouse_copy, tmp_path / "opsmetrics_published.duckdb", "before")
    with duckdb.connect(str(snapshot.path), read_only=True) as connection:
        expected = connection.execute("select count(*) from marts.fct_mrr_monthly").fetchone()
    seen: list[tuple] = []
    stop = threading.Event()

    def read_snapshot() -> None:
        while not stop.is_set():
            with duckdb.connect(str(snapshot.path), read_only=True) as reader:
                seen.append(
                    (
                        reader.execute("select count(*) from marts.fct_mrr_monthly").fetchone(),
                        reader.execute(
                            f"select dbt_invocation_id from {METADATA_TABLE}"
                        ).fetchone(),
                    )
                )
            time.sleep(0.05)

    reader = threading.Thread(target=read_snapshot)
    reader.start()
    # The marts and their tests: long enough to be seen holding the warehouse, a fraction
    # of the whole project (the lock and the snapshot do not depend on what is built).
    build = subprocess.Popen(
        [str(BIN / "opsmetrics"), "build", "--select", "marts"],
        cwd=PROJECT_DIR,
        env={**os.environ, "OPSMETRICS_DUCKDB_PATH": str(warehouse_copy)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        # Watch the build lock file (the build writes its PID there once it holds it):
        # probing the DuckDB file itself would block the build's writer now and then.
        lock_file = build_lock_path(warehouse_copy)
        locked = False
        while build.poll() is None and not locked:
            locked = lock_file.exists() and lock_file.read_text().strip() == str(build.pid)
            time.sleep(0.1)
        assert locked, "the build finished before it was seen holding the warehouse"
        second = command([str(BIN / "opsmetrics"), "build"], warehouse_copy)
        first_output, _ = build.communicate(timeout=900)
    finally:
        stop.set()
        reader.join()
        if build.poll() is None:
            build.kill()
    assert build.returncode == 0, first_output[-2000:]
    assert_one_lock_line(second, 2, warehouse_copy)
    assert seen
    assert all(row == (expected, ("before",)) for row in seen)


def test_a_build_selecting_nothing_fails_in_one_line(warehouse_copy: Path):
    done = command([str(BIN / "opsmetrics"), "build", "--select", "no_such_model"], warehouse_copy)
    output = (done.stdout + done.stderr).strip()
    assert done.returncode == 1, output
    assert "Traceback" not in output
    assert "--select 'no_such_model' matches no model" in output


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["opsmetrics", "quality"], 2),
        (["opsmetrics", "export-metrics"], 2),
        (["opsmetrics", "build"], 2),
        (["opsmetrics", "mf", "query", "--metrics", "mrr", "--group-by", "metric_time__month"], 2),
    ],
)
def test_commands_on_a_warehouse_being_built_end_on_one_lock_line(
    warehouse_copy: Path, hold_duckdb, args: list[str], code: int
):
    with hold_duckdb(warehouse_copy):
        done = command([str(BIN / args[0]), *args[1:]], warehouse_copy)
    assert_one_lock_line(done, code, warehouse_copy)


def test_publish_from_a_warehouse_being_built_raises_the_lock_line(
    warehouse_copy: Path, hold_duckdb, tmp_path: Path
):
    with hold_duckdb(warehouse_copy), pytest.raises(WarehouseLockedError, match="locked"):
        write_snapshot(warehouse_copy, tmp_path / "opsmetrics_published.duckdb", "x")
    assert not (tmp_path / "opsmetrics_published.duckdb").exists()


def test_mf_query_itself_on_a_warehouse_being_built_ends_on_duckdbs_lock_line(
    warehouse_copy: Path, hold_duckdb
):
    """MetricFlow's own CLI cannot be given our line; it prints DuckDB's, without a
    traceback (README says so, and points to `opsmetrics mf`)."""
    query = ["query", "--metrics", "mrr", "--group-by", "metric_time__month"]
    with hold_duckdb(warehouse_copy):
        done = command([str(BIN / "mf"), *query], warehouse_copy)
    output = done.stdout + done.stderr
    assert done.returncode != 0
    assert "Traceback" not in output
    assert any(
        "Could not set lock on file" in line and str(warehouse_copy) in line
        for line in output.splitlines()
    ), output
