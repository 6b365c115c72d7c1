"""The project's generic dbt tests (tests/dbt/generic) pass on good rows and fail on bad
ones: each is applied to two seeds of a throwaway dbt project that uses the same test
files, so a generic test that could never fail is caught here."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from dbt.cli.main import dbtRunner

from opsmetrics import PROJECT_DIR
from opsmetrics.dbt_invoke import release_duckdb

GENERIC_TESTS = PROJECT_DIR / "tests" / "dbt" / "generic"
HEADER = "row_id,part,amount,happened_at"

TESTS_YAML = """
version: 2
seeds:
{seeds}
"""
SEED_TESTS = """
  - name: {name}
    config:
      column_types: {{row_id: integer, part: varchar, amount: integer, happened_at: timestamp}}
    data_tests:
      - unique_combination_of_columns:
          arguments: {{combination_of_columns: [row_id, part]}}
      - expression_is_true:
          arguments: {{expression: "amount <= 10"}}
      - recency:
          arguments: {{field: happened_at, datepart: day, interval: 7}}
    columns:
      - name: amount
        data_tests:
          - accepted_range:
              arguments: {{min_value: 0, max_value: 10}}
          - accepted_range:
              arguments: {{min_value: 1, inclusive: false}}
          - expression_is_true:
              arguments: {{expression: ">= 0"}}
          - kpi_within_band:
              arguments: {{lower: 0, upper: 10}}
"""


def _write_project(root: Path) -> None:
    recent = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%d %H:%M:%S")
    (root / "seeds").mkdir()
    (root / "tests").mkdir()
    (root / "tests" / "generic").symlink_to(GENERIC_TESTS, target_is_directory=True)
    (root / "seeds" / "good_rows.csv").write_text(
        f"{HEADER}\n1,a,2,{recent}\n1,b,10,{recent}\n2,a,5,{recent}\n"
    )
    # Every row breaks something: a repeated (row_id, part), amounts below 0, on the
    # exclusive bound 1 and above 10, and no row in the last 7 days.
    (root / "seeds" / "bad_rows.csv").write_text(
        f"{HEADER}\n1,a,-5,2000-01-01 00:00:00\n1,a,11,2000-01-02 00:00:00\n"
        "3,c,1,2000-01-03 00:00:00\n"
    )
    (root / "seeds" / "_seeds.yml").write_text(
        TESTS_YAML.format(
            seeds="".join(SEED_TESTS.format(name=name) for name in ("good_rows", "bad_rows"))
        )
    )
    (root / "dbt_project.yml").write_text(
        "name: generic_tests_check\nversion: '1.0'\nconfig-version: 2\nprofile: check\n"
        "seed-paths: [seeds]\ntest-paths: [tests]\n"
    )
    (root / "profiles.yml").write_text(
        "check:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n"
        f"      path: {root / 'check.duckdb'}\n      threads: 1\n"
    )


@pytest.fixture(scope="module")
def generic_test_statuses(
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[tuple[str, str], list[str]]:
    """(generic test, seed) -> statuses of its runs."""
    root = tmp_path_factory.mktemp("generic_tests_check")
    _write_project(root)
    try:
        result = dbtRunner().invoke(
            ["build", "--project-dir", str(root), "--profiles-dir", str(root)]
        )
    finally:
        release_duckdb()
    statuses: dict[tuple[str, str], list[str]] = {}
    for run in result.result.results:
        node = run.node
        if node.resource_type != "test":
            continue
        name = node.test_metadata.name
        seed = "bad_rows" if "bad_rows" in node.name else "good_rows"
        statuses.setdefault((name, seed), []).append(str(run.status))
    return statuses


@pytest.mark.parametrize(
    "generic_test",
    [
        "unique_combination_of_columns",
        "expression_is_true",
        "accepted_range",
        "recency",
        "kpi_within_band",
    ],
)
def test_generic_test_passes_good_rows_and_fails_bad_rows(
    generic_test_statuses: dict[tuple[str, str], list[str]], generic_test: str
) -> None:
    assert generic_test_statuses[(generic_test, "good_rows")], "the test did not run on good rows"
    assert set(generic_test_statuses[(generic_test, "good_rows")]) == {"pass"}
    assert set(generic_test_statuses[(generic_test, "bad_rows")]) == {"fail"}
