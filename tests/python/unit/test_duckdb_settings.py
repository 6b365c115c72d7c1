"""The DuckDB settings live in one place, profiles.yml, which the package reads
(settings.duckdb_profile); the loader spills where dbt spills (beside the warehouse
file)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from opsmetrics.settings import (
    LOAD_MEMORY_LIMIT,
    duckdb_profile,
    duckdb_spill_settings,
    duckdb_temp_directory,
    load_memory_limit,
)


def test_the_profile_spills_beside_the_warehouse_file_as_the_loader_does(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OPSMETRICS_DUCKDB_TEMP_DIR", raising=False)
    monkeypatch.delenv("OPSMETRICS_DUCKDB_MAX_TEMP_SIZE", raising=False)
    monkeypatch.setenv("OPSMETRICS_DUCKDB_PATH", "/w/opsmetrics.duckdb")

    settings = duckdb_profile()["config_options"]

    assert settings["temp_directory"] == str(duckdb_temp_directory(Path("/w/opsmetrics.duckdb")))
    assert settings["temp_directory"] == "/w/opsmetrics.duckdb.tmp"
    assert settings["max_temp_directory_size"] == "10GB"


def test_a_new_cursor_after_a_spill_takes_the_profile_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """dbt-duckdb opens the file with `config_options` once and runs `SET` for each of
    `settings` on every new cursor: after DuckDB has spilled, that must still work (DuckDB
    refuses to set temp_directory again once it has been used)."""
    warehouse = tmp_path / "w.duckdb"
    monkeypatch.setenv("OPSMETRICS_DUCKDB_PATH", str(warehouse))
    monkeypatch.delenv("OPSMETRICS_DUCKDB_TEMP_DIR", raising=False)
    profile = duckdb_profile()
    with duckdb.connect(str(warehouse), config=profile["config_options"]) as connection:
        connection.execute("set memory_limit = '32MB'")
        connection.execute(
            "create table t as select range as n, md5(range::varchar) as h "
            "from range(400000) order by h"
        )
        spilled = warehouse.with_name(warehouse.name + ".tmp")
        assert spilled.is_dir()
        cursor = connection.cursor()
        for key, value in profile["settings"].items():
            cursor.execute(f"set {key} = '{value}'")
        assert cursor.execute("select count(*) from t").fetchone() == (400000,)


def test_spill_settings_follow_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPSMETRICS_DUCKDB_TEMP_DIR", "/scratch/spill")
    monkeypatch.setenv("OPSMETRICS_DUCKDB_MAX_TEMP_SIZE", "3GB")
    monkeypatch.setenv("OPSMETRICS_LOAD_MEMORY_LIMIT", "1GB")

    assert duckdb_spill_settings(Path("/w/x.duckdb")) == {
        "temp_directory": "/scratch/spill",
        "max_temp_directory_size": "3GB",
    }
    assert load_memory_limit() == "1GB"


def test_an_empty_load_memory_limit_means_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPSMETRICS_LOAD_MEMORY_LIMIT", "")

    assert load_memory_limit() == LOAD_MEMORY_LIMIT
