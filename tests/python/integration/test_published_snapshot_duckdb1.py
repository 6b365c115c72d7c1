"""A DuckDB 1.x client opens the published snapshot: the file our DuckDB 2.0 writes in
storage version v1.4.0, read from a throw-away venv (.venv-duckdb1, git-ignored, made on
the first run) with the oldest 1.x that reads that version."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from opsmetrics import PROJECT_DIR
from opsmetrics.publish import METADATA_TABLE, write_snapshot

DUCKDB1_VENV = PROJECT_DIR / ".venv-duckdb1"
DUCKDB1 = "duckdb==1.4.0"
READ_SCRIPT = """
import json, sys, duckdb
connection = duckdb.connect(sys.argv[1], read_only=True)
tables = connection.execute(
    "select table_schema || '.' || table_name from information_schema.tables "
    "where table_schema <> 'published' order by 1"
).fetchall()
counts = {t: connection.execute(f"select count(*) from {t}").fetchone()[0] for (t,) in tables}
meta = connection.execute("select storage_version from published.snapshot_metadata").fetchone()
print(json.dumps({"version": duckdb.__version__, "counts": counts, "storage": meta[0]}))
"""


@pytest.fixture(scope="session")
def duckdb1_python() -> Path:
    python = DUCKDB1_VENV / "bin" / "python"
    marker = DUCKDB1_VENV / f".{DUCKDB1}"
    if not marker.exists():
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(DUCKDB1_VENV)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", DUCKDB1],
            check=True,
            capture_output=True,
            timeout=600,
        )
        marker.touch()
    return python


def test_a_duckdb_1x_client_reads_every_published_table(
    tiny_metric_tables: Path, tmp_path: Path, duckdb1_python: Path
):
    snapshot = write_snapshot(
        tiny_metric_tables, tmp_path / "opsmetrics_published.duckdb", "duckdb1"
    )
    done = subprocess.run(
        [str(duckdb1_python), "-c", READ_SCRIPT, str(snapshot.path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    read = json.loads(done.stdout)
    assert read["version"].startswith("1.")
    assert read["storage"] == "v1.4.0"
    assert read["counts"] == snapshot.tables
    assert any(name.startswith("marts.") for name in read["counts"])
    with duckdb.connect(str(snapshot.path), read_only=True) as connection:
        assert connection.execute(f"select count(*) from {METADATA_TABLE}").fetchone() == (1,)


def test_a_duckdb_1x_client_cannot_read_the_warehouse_dbt_writes(
    tiny_warehouse: Path, duckdb1_python: Path
):
    """Why the snapshot exists: the warehouse itself is in DuckDB 2.0's format."""
    done = subprocess.run(
        [str(duckdb1_python), "-c", READ_SCRIPT, str(tiny_warehouse)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode != 0
    assert "version" in done.stderr.lower()
