"""With the warehouse locked by another process, the project's commands end on one
line saying who holds it and what to do, with exit code 2, not on a traceback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from opsmetrics.cli import app
from opsmetrics.dbt_invoke import run_dbt
from opsmetrics.locking import WarehouseLockedError, lock_conflict_message


@pytest.fixture
def locked_warehouse(empty_warehouse: Path, hold_duckdb) -> Iterator[tuple[Path, int]]:
    empty_warehouse.parent.mkdir(parents=True, exist_ok=True)
    with hold_duckdb(empty_warehouse) as pid:
        yield empty_warehouse, pid


@pytest.mark.parametrize(
    "command",
    [
        ["load", "--from", "{data}"],
        ["quality"],
        ["export-metrics"],
        ["demo", "--scale", "tiny", "--out", "{out}"],
    ],
    ids=["load", "quality", "export-metrics", "demo"],
)
def test_a_locked_warehouse_gives_one_line_and_exit_code_2(
    locked_warehouse: tuple[Path, int], tiny_data_dir: Path, tmp_path: Path, command: list[str]
) -> None:
    path, pid = locked_warehouse
    arguments = [a.format(data=tiny_data_dir, out=tmp_path / "demo") for a in command]

    result = CliRunner().invoke(app, arguments)

    assert result.exit_code == 2, result.output
    last = result.output.strip().splitlines()[-1]
    assert last.startswith(f"{command[0]} failed: warehouse locked: {path} is locked by ")
    assert f"(PID {pid})" in last
    assert "Traceback" not in result.output


def test_a_dbt_run_on_a_locked_warehouse_fails_before_dbt_starts(
    locked_warehouse: tuple[Path, int],
) -> None:
    with pytest.raises(WarehouseLockedError) as raised:
        run_dbt(["build"])

    assert "is locked by" in lock_conflict_message(raised.value)
