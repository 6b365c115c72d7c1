"""A DuckDB lock conflict is recognised from DuckDB's own error and told in one line
naming the file and the process holding it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from opsmetrics.dbt_invoke import DbtError
from opsmetrics.locking import lock_conflict_message


@pytest.fixture
def held_warehouse(tmp_path: Path, hold_duckdb) -> Iterator[tuple[Path, int]]:
    """A DuckDB file another process holds open; yields (path, that process's PID)."""
    path = tmp_path / "held.duckdb"
    with hold_duckdb(path) as pid:
        yield path, pid


def test_a_lock_conflict_names_the_file_and_the_holder(held_warehouse) -> None:
    path, pid = held_warehouse
    with pytest.raises(duckdb.Error) as raised:
        duckdb.connect(str(path))

    message = lock_conflict_message(raised.value)

    assert message is not None
    assert message.startswith(f"warehouse locked: {path} is locked by ")
    assert f"(PID {pid})" in message
    assert "\n" not in message


def test_a_lock_conflict_is_found_inside_a_dbt_error(held_warehouse) -> None:
    path, _ = held_warehouse
    with pytest.raises(duckdb.Error) as raised:
        duckdb.connect(str(path))

    wrapped = DbtError(f"dbt build failed: {raised.value}")

    assert lock_conflict_message(wrapped) == lock_conflict_message(raised.value)


def test_other_errors_are_not_lock_conflicts(tmp_path: Path) -> None:
    with duckdb.connect() as connection, pytest.raises(duckdb.Error) as raised:
        connection.execute("select * from no_such_table")
    assert lock_conflict_message(raised.value) is None
