"""The load connection's memory limit and spill settings: a bad value is refused on one
line (exit code 2) before anything is written; a tight limit still loads, spilling
beside the warehouse file and leaving no temporary files behind."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import warehouse_state
from typer.testing import CliRunner

from opsmetrics.cli import app
from opsmetrics.load import load_duckdb


@pytest.mark.parametrize(
    ("variable", "value"),
    [("OPSMETRICS_LOAD_MEMORY_LIMIT", "lots"), ("OPSMETRICS_DUCKDB_MAX_TEMP_SIZE", "plenty")],
)
def test_a_bad_load_setting_fails_on_one_line_and_writes_nothing(
    tiny_data_dir: Path,
    empty_warehouse: Path,
    monkeypatch: pytest.MonkeyPatch,
    variable: str,
    value: str,
) -> None:
    load_duckdb(tiny_data_dir)
    before = warehouse_state(empty_warehouse)
    monkeypatch.setenv(variable, value)

    result = CliRunner().invoke(app, ["load", "--from", str(tiny_data_dir)])

    assert result.exit_code == 2
    last = result.output.strip().splitlines()[-1]
    assert last.startswith(f"load failed: {empty_warehouse}: ")
    assert "Traceback" not in result.output
    assert warehouse_state(empty_warehouse) == before


def test_a_load_under_a_tight_memory_limit_loads_everything(
    tiny_data_dir: Path, tiny_manifest: dict, empty_warehouse: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPSMETRICS_LOAD_MEMORY_LIMIT", "64MB")

    inserted = load_duckdb(tiny_data_dir)

    assert inserted == {name: t["rows"] for name, t in tiny_manifest["tables"].items()}
    spill = empty_warehouse.with_name(empty_warehouse.name + ".tmp")
    assert not spill.exists() or list(spill.iterdir()) == []
