"""The DuckDB settings live in one place: profiles.yml reads the variables of
opsmetrics.settings.DUCKDB_DEFAULTS with the same defaults, and spills where the loader
spills (beside the warehouse file)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from opsmetrics import PROJECT_DIR
from opsmetrics.settings import (
    DEFAULT_DUCKDB_PATH,
    DUCKDB_DEFAULTS,
    duckdb_spill_settings,
    duckdb_temp_directory,
    load_memory_limit,
)

ENV_VAR = re.compile(r"env_var\('(OPSMETRICS_[A-Z_]+)', '([^']*)'\)")


def profile_defaults() -> dict[str, set[str]]:
    text = (PROJECT_DIR / "profiles.yml").read_text()
    found: dict[str, set[str]] = {}
    for variable, default in ENV_VAR.findall(text):
        found.setdefault(variable, set()).add(default)
    return found


def test_the_profile_reads_the_settings_variables_with_the_same_defaults() -> None:
    found = profile_defaults()
    dbt_variables = {v for v in DUCKDB_DEFAULTS if v != "OPSMETRICS_LOAD_MEMORY_LIMIT"}
    for variable in dbt_variables:
        assert found.get(variable) == {DUCKDB_DEFAULTS[variable]}, variable
    assert found["OPSMETRICS_DUCKDB_PATH"] == {DEFAULT_DUCKDB_PATH}


def test_the_profile_spills_beside_the_warehouse_file_as_the_loader_does() -> None:
    text = (PROJECT_DIR / "profiles.yml").read_text()
    assert (
        "temp_directory: \"{{ env_var('OPSMETRICS_DUCKDB_TEMP_DIR', "
        "env_var('OPSMETRICS_DUCKDB_PATH', 'warehouse/opsmetrics.duckdb') ~ '.tmp') }}\""
    ) in text
    assert "max_temp_directory_size:" in text
    assert duckdb_temp_directory(Path("/w/opsmetrics.duckdb")) == Path("/w/opsmetrics.duckdb.tmp")


def test_spill_settings_follow_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPSMETRICS_DUCKDB_TEMP_DIR", "/scratch/spill")
    monkeypatch.setenv("OPSMETRICS_DUCKDB_MAX_TEMP_SIZE", "3GB")
    monkeypatch.setenv("OPSMETRICS_LOAD_MEMORY_LIMIT", "1GB")

    assert duckdb_spill_settings(Path("/w/x.duckdb")) == {
        "temp_directory": "/scratch/spill",
        "max_temp_directory_size": "3GB",
    }
    assert load_memory_limit() == "1GB"


def test_an_empty_variable_means_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPSMETRICS_LOAD_MEMORY_LIMIT", "")
    monkeypatch.setenv("OPSMETRICS_DUCKDB_MAX_TEMP_SIZE", "")

    assert load_memory_limit() == DUCKDB_DEFAULTS["OPSMETRICS_LOAD_MEMORY_LIMIT"]
    assert duckdb_spill_settings(Path("/w/x.duckdb"))["max_temp_directory_size"] == "10GB"
