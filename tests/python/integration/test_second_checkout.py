"""A second checkout works on its own project: its target/, logs/ and warehouse/, never
the first one's, whether it shares this checkout's virtualenv or has its own.

The second checkout is a copy of this project's files (no .venv, no build output). "Its
own virtualenv" is a bare venv (no pip, no install: seconds, not minutes) whose
site-packages point at the copy's scripts/ (what the editable install of that checkout
puts there) and at this virtualenv's dependencies."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import duckdb
import pytest
from conftest import NOT_PROJECT_FILES

from opsmetrics.settings import PROJECT_DIR_ENV, project_dir

# Variables that would name a project or warehouse for the child: none is set, so each
# checkout must find its own.
NAMING_VARIABLES = (
    PROJECT_DIR_ENV,
    "OPSMETRICS_DUCKDB_PATH",
    "OPSMETRICS_PUBLISHED_PATH",
    "DBT_PROFILES_DIR",
    "DBT_PROJECT_DIR",
)


@pytest.fixture(scope="module")
def second_checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("second") / "checkout"
    shutil.copytree(project_dir(), root, ignore=NOT_PROJECT_FILES)
    return root


def environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in NAMING_VARIABLES}


def run(python: Path | str, args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [str(python), *args], cwd=cwd, env=environment(), capture_output=True, text=True
    )
    assert done.returncode == 0, f"{args} failed:\n{done.stdout}{done.stderr}"
    return done


def without_build_output(checkout: Path) -> Path:
    for folder in ("target", "logs"):
        shutil.rmtree(checkout / folder, ignore_errors=True)
    return checkout


def raw_tables(warehouse: Path) -> set[str]:
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        rows = connection.execute(
            "select table_name from duckdb_tables() where schema_name = 'raw'"
        ).fetchall()
    return {name for (name,) in rows}


def test_sharing_this_virtualenv_it_parses_into_its_own_target_and_logs(
    second_checkout: Path, tmp_path: Path
) -> None:
    page = tmp_path / "kpis.md"
    without_build_output(second_checkout)

    run(
        sys.executable, ["-m", "opsmetrics", "kpis", "--out", str(page)], second_checkout / "models"
    )

    assert (second_checkout / "target" / "manifest.json").exists()
    assert (second_checkout / "logs" / "dbt.log").exists()
    assert page.read_text().startswith("# KPI registry")


def test_sharing_this_virtualenv_it_loads_into_its_own_warehouse(
    second_checkout: Path, tmp_path: Path, tiny_data_dir: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    run(
        sys.executable,
        [
            "-m",
            "opsmetrics",
            "--project-dir",
            str(second_checkout),
            "load",
            "--from",
            str(tiny_data_dir),
        ],
        elsewhere,
    )

    warehouse = second_checkout / "warehouse" / "opsmetrics.duckdb"
    assert "customers" in raw_tables(warehouse)
    assert not (elsewhere / "warehouse").exists()


def test_with_its_own_virtualenv_it_runs_its_own_package_on_its_own_project(
    second_checkout: Path, tmp_path: Path
) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    (site / "second_checkout.pth").write_text(
        f"{second_checkout / 'scripts'}\n{sysconfig.get_paths()['purelib']}\n"
    )

    package = run(python, ["-c", "import opsmetrics; print(opsmetrics.__file__)"], tmp_path)
    assert Path(package.stdout.strip()).is_relative_to(second_checkout)
    without_build_output(second_checkout)

    run(python, ["-m", "opsmetrics", "kpis"], second_checkout)

    assert (second_checkout / "target" / "manifest.json").exists()
    assert (second_checkout / "logs" / "dbt.log").exists()
