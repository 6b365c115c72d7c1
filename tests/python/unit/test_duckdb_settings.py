"""The DuckDB settings live in one place, profiles.yml, which the package reads
(settings.duckdb_profile); the loader spills where dbt spills (beside the warehouse
file)."""

from __future__ import annotations

from pathlib import Path

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

    settings = duckdb_profile()["settings"]

    assert settings["temp_directory"] == str(duckdb_temp_directory(Path("/w/opsmetrics.duckdb")))
    assert settings["temp_directory"] == "/w/opsmetrics.duckdb.tmp"
    assert settings["max_temp_directory_size"] == "10GB"


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
