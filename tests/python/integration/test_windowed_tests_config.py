"""A wrong `meta.window` on a data test (macro test_window) is a compiler error naming
the test, the bad value and what is expected (macro check_test_window), rather than a
test that silently reads the whole table, or the wrong keys, forever.

A throw-away copy of the project gets one extra test per case, each compiled alone (a
compiler error ends the command); the message is dbt's error.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml
from conftest import NOT_PROJECT_FILES

from opsmetrics.dbt_invoke import DbtError, run_dbt
from opsmetrics.settings import project_dir, scoped_environment, use_project_dir

OPERATIONS_YAML = Path("models/marts/operations/_operations__models.yml")
WINDOW = {"built": "fct_api_requests", "keys": "base_platform__api_requests"}
# name: (model, column (None: a test of the model), window, what the message says)
CASES = {
    "window_not_a_mapping": (
        "fct_api_requests",
        "request_id",
        "fct_api_requests",
        "meta.window is fct_api_requests, expected {built: <incremental model>",
    ),
    "window_misspelt_key": (
        "fct_api_requests",
        "request_id",
        {"built": "fct_api_requests", "key": "base_platform__api_requests"},
        "meta.window has the keys ['built', 'key'], expected exactly ['built', 'keys']",
    ),
    "window_missing_key": (
        "fct_api_requests",
        "request_id",
        {"built": "fct_api_requests"},
        "meta.window has the keys ['built'], expected exactly ['built', 'keys']",
    ),
    "window_built_misspelt": (
        "fct_api_requests",
        "request_id",
        {**WINDOW, "built": "fct_api_request"},
        "meta.window.built is fct_api_request, which is not a model of this project",
    ),
    "window_keys_misspelt": (
        "fct_api_requests",
        "request_id",
        {**WINDOW, "keys": "base_platform__api_request"},
        "meta.window.keys is base_platform__api_request, which is not a model of this project",
    ),
    "window_keys_not_upstream": (
        "fct_api_requests",
        "request_id",
        {**WINDOW, "keys": "base_platform__system_metrics"},
        "meta.window.keys is base_platform__system_metrics, which is not fct_api_requests "
        "nor upstream of it",
    ),
    "window_built_not_incremental": (
        "fct_incidents",
        "incident_id",
        {"built": "fct_incidents", "keys": "base_platform__health_checks"},
        "meta.window.built is fct_incidents (materialized table, pre-hook "
        "record_test_window_build: False); expected an incremental model",
    ),
    "window_built_not_recorded": (
        "fct_slo_daily",
        "slo_date",
        {"built": "fct_slo_daily", "keys": "base_platform__api_requests"},
        "meta.window.built is fct_slo_daily (materialized incremental, pre-hook "
        "record_test_window_build: False); expected an incremental model",
    ),
    "window_on_another_model": (
        "fct_api_requests_daily",
        "request_date",
        WINDOW,
        "meta.window.built is fct_api_requests, but the test is on fct_api_requests_daily",
    ),
    "window_without_column": (
        "fct_api_requests",
        None,
        WINDOW,
        "meta.window is set on a test without a column",
    ),
}
VALID = ["unique_stg_platform__api_requests_request_id", "unique_fct_api_requests_request_id"]


def add_case(models: list[dict], name: str, case: tuple) -> None:
    model_name, column, window, _ = case
    [model] = [m for m in models if m["name"] == model_name]
    if column is None:
        arguments = {"combination_of_columns": ["request_id"]}
        test = {"unique_combination_of_columns": {"arguments": arguments}}
        model.setdefault("data_tests", []).append(test)
    else:
        [target] = [c for c in model["columns"] if c["name"] == column]
        test = {"unique": {}}
        target["data_tests"] = [*target.get("data_tests", []), test]
    [arguments] = test.values()
    arguments.update({"name": name, "config": {"meta": {"window": window}}})


@pytest.fixture(scope="module")
def compile_test(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], str]]:
    """`dbt compile` of one test on a copy of the project with the cases added: its
    error message, or "" when it compiles."""
    root = tmp_path_factory.mktemp("window_config")
    project = root / "project"
    shutil.copytree(project_dir(), project, ignore=NOT_PROJECT_FILES)
    path = project / OPERATIONS_YAML
    spec = yaml.safe_load(path.read_text())
    for name, case in CASES.items():
        add_case(spec["models"], name, case)
    path.write_text(yaml.safe_dump(spec, sort_keys=False))

    def compile_one(name: str) -> str:
        try:
            run_dbt(["compile", "--select", name])
        except DbtError as error:
            return str(error)
        return ""

    environment = {"OPSMETRICS_DUCKDB_PATH": str(root / "empty.duckdb")}
    with use_project_dir(project), scoped_environment(environment):
        yield compile_one


@pytest.mark.parametrize("name", CASES)
def test_a_wrong_window_is_a_compiler_error_naming_test_value_and_expectation(compile_test, name):
    message = compile_test(name)
    assert f"test.opsmetrics.{name}." in message
    assert CASES[name][3] in message


@pytest.mark.parametrize("name", VALID)
def test_the_valid_windows_compile(compile_test, name):
    assert compile_test(name) == ""
