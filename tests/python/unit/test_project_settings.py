"""The package finds its dbt project as dbt does (--project-dir, OPSMETRICS_PROJECT_DIR,
the working directory or a folder above it), never from its install path; and reading a
setting changes nothing in the environment."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from opsmetrics import settings as settings_module
from opsmetrics.cli import app
from opsmetrics.settings import (
    PROJECT_DIR_ENV,
    ProjectNotFoundError,
    child_environment,
    duckdb_memory_limit,
    duckdb_path,
    duckdb_threads,
    project_dir,
    scoped_environment,
    use_project_dir,
)

PROFILE = """opsmetrics:
  target: duckdb
  outputs:
    duckdb:
      type: duckdb
      path: "{{ env_var('OPSMETRICS_DUCKDB_PATH', 'warehouse/opsmetrics.duckdb') }}"
      threads: 3
      settings:
        memory_limit: "{{ env_var('OPSMETRICS_DUCKDB_MEMORY_LIMIT', '5GB') }}"
        threads: 3
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A minimal project of its own (dbt_project.yml, profiles.yml, a sub-folder); no
    project named by the environment."""
    root = tmp_path / "checkout"
    (root / "models" / "marts").mkdir(parents=True)
    (root / "dbt_project.yml").write_text("name: opsmetrics\nprofile: opsmetrics\n")
    (root / "profiles.yml").write_text(PROFILE)
    monkeypatch.delenv(PROJECT_DIR_ENV, raising=False)
    return root


def test_the_project_is_the_working_directory_or_the_nearest_folder_above(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project)
    assert project_dir() == project.resolve()
    monkeypatch.chdir(project / "models" / "marts")
    assert project_dir() == project.resolve()


def test_the_environment_names_the_project_wherever_the_process_runs(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(PROJECT_DIR_ENV, str(project))
    assert project_dir() == project.resolve()


def test_use_project_dir_wins_for_its_block_and_restores_the_previous_choice(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / "dbt_project.yml").write_text("name: other\n")
    monkeypatch.chdir(project)
    with use_project_dir(other):
        assert project_dir() == other.resolve()
    assert project_dir() == project.resolve()


def test_no_project_is_one_line_naming_where_it_looked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(PROJECT_DIR_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ProjectNotFoundError) as raised:
        project_dir()
    message = str(raised.value)
    assert "\n" not in message
    assert str(tmp_path.resolve()) in message and "--project-dir" in message


def test_an_environment_naming_a_folder_without_a_project_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PROJECT_DIR_ENV, str(tmp_path))
    with pytest.raises(ProjectNotFoundError, match=PROJECT_DIR_ENV):
        project_dir()


def test_the_cli_outside_a_project_ends_on_one_line_with_exit_code_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(PROJECT_DIR_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["kpis"])

    assert result.exit_code == 2, result.output
    assert result.output.strip().splitlines() == [
        f"opsmetrics: no dbt project found: no dbt_project.yml in {tmp_path.resolve()} or any "
        "folder above it; run opsmetrics inside the project, or pass --project-dir or set "
        f"{PROJECT_DIR_ENV}"
    ]


def test_the_cli_refuses_a_project_dir_that_is_not_a_project(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["--project-dir", str(tmp_path), "kpis"])

    assert result.exit_code == 2, result.output
    assert len(result.output.strip().splitlines()) == 1
    assert "no dbt_project.yml there" in result.output
    assert "Traceback" not in result.output


def test_a_relative_warehouse_path_is_taken_from_the_project_and_not_written_back(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project / "models")
    monkeypatch.delenv("OPSMETRICS_DUCKDB_PATH", raising=False)
    before = dict(os.environ)

    assert duckdb_path() == project.resolve() / "warehouse" / "opsmetrics.duckdb"
    assert dict(os.environ) == before

    monkeypatch.setenv("OPSMETRICS_DUCKDB_PATH", "elsewhere/w.duckdb")
    assert duckdb_path() == project.resolve() / "elsewhere" / "w.duckdb"
    assert os.environ["OPSMETRICS_DUCKDB_PATH"] == "elsewhere/w.duckdb"


def test_a_child_gets_this_project_and_warehouse_without_changing_ours(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project)
    monkeypatch.delenv("OPSMETRICS_DUCKDB_PATH", raising=False)
    before = dict(os.environ)

    child = child_environment(OPSMETRICS_TARGET="postgres")

    assert child[PROJECT_DIR_ENV] == str(project.resolve())
    assert child["OPSMETRICS_DUCKDB_PATH"] == str(project.resolve() / "warehouse/opsmetrics.duckdb")
    assert child["OPSMETRICS_TARGET"] == "postgres"
    assert dict(os.environ) == before


def test_scoped_environment_puts_back_set_and_unset_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPSMETRICS_SCOPED_SET", "before")
    monkeypatch.delenv("OPSMETRICS_SCOPED_UNSET", raising=False)
    values = {"OPSMETRICS_SCOPED_SET": "during", "OPSMETRICS_SCOPED_UNSET": "during"}

    with pytest.raises(RuntimeError), scoped_environment(values):
        assert os.environ["OPSMETRICS_SCOPED_SET"] == "during"
        assert os.environ["OPSMETRICS_SCOPED_UNSET"] == "during"
        raise RuntimeError("a failing block restores too")

    assert os.environ["OPSMETRICS_SCOPED_SET"] == "before"
    assert "OPSMETRICS_SCOPED_UNSET" not in os.environ


def test_threads_and_memory_limit_come_from_the_project_profile(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project)
    monkeypatch.delenv("OPSMETRICS_DUCKDB_MEMORY_LIMIT", raising=False)
    assert duckdb_threads() == 3
    assert duckdb_memory_limit() == "5GB"

    monkeypatch.setenv("OPSMETRICS_DUCKDB_MEMORY_LIMIT", "3GB")
    assert duckdb_memory_limit() == "3GB"


def test_no_package_module_takes_the_project_from_a_global() -> None:
    """Paths come from project_dir() when used: a module-level PROJECT_DIR (or a constant
    built from it) would be the install path's project, or the one of the import time."""
    package = Path(settings_module.__file__).parent
    users = [
        f"{path.relative_to(package)}:{number}"
        for path in sorted(package.rglob("*.py"))
        if path != package / "__init__.py"
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if re.search(r"\bPROJECT_DIR\b", line)
    ]
    assert users == []
