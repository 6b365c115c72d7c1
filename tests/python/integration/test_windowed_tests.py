"""The `unique` tests of the request tables read only the new window on a daily run
(macro test_window), still catch a duplicate that run makes, and read the whole table
after a full refresh, in `dbt test` alone, and from the earliest untested build on. The
ledger the windows read is trimmed after each run without changing any window.

The tiny data set is split by `_loaded_at` at a cutoff: the history is built with its
tests (which records their pass), then the rest is loaded and built incrementally.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
from conftest import END_DATE, NOT_PROJECT_FILES, DataSet, execute_on, fetch_rows

from opsmetrics.bench import split_by_loaded_at
from opsmetrics.dbt_invoke import DbtError, run_dbt
from opsmetrics.load import load_duckdb
from opsmetrics.settings import project_dir, scoped_environment, use_project_dir

CUTOFF = datetime(END_DATE.year, END_DATE.month, END_DATE.day)
MODELS = ["--select", "+stg_platform__api_requests", "+fct_api_requests"]
SELECTION = [
    *MODELS,
    "--exclude-resource-type",
    "unit_test",
    "--indirect-selection",
    "cautious",
]
WINDOWED = ["unique_stg_platform__api_requests_request_id", "unique_fct_api_requests_request_id"]
# The condition test_window adds: the keys of the base model loaded since a cutoff.
WINDOW = re.compile(
    r"request_id in \(select record_key from \S+base_platform__api_requests\" "
    r"where _loaded_at >= cast\('([\d\- :.]+)' as timestamp\) or _loaded_at is null\)"
)


@dataclass
class WindowedTests:
    """What one dbt command did to the windowed tests: SQL run and failures found."""

    sql: dict[str, str]
    failures: dict[str, int]


def dbt_tests(args: list[str]) -> WindowedTests:
    """Run `dbt <args>` (a failing test is expected in some); the windowed tests' SQL and
    failure counts, from run_results.json."""
    with contextlib.suppress(DbtError):
        run_dbt(args)
    results = json.loads((project_dir() / "target" / "run_results.json").read_text())["results"]
    tests = [r for r in results if r["unique_id"].split(".")[2] in WINDOWED]
    return WindowedTests(
        {r["unique_id"].split(".")[2]: r["compiled_code"] for r in tests},
        {r["unique_id"].split(".")[2]: r["failures"] for r in tests},
    )


# The load cutoff an incremental model's SQL re-read from (the ledger's row of the build
# is trimmed once the model's tests pass).
CUTOFF_IN_SQL = re.compile(r"_loaded_at >= cast\('([\d\- :.]+)' as timestamp\)")


def model_cutoffs() -> dict[str, str]:
    """The cutoff of each request model the last dbt command built incrementally."""
    results = json.loads((project_dir() / "target" / "run_results.json").read_text())["results"]
    return {
        r["unique_id"].split(".")[2]: CUTOFF_IN_SQL.search(r["compiled_code"]).group(1)
        for r in results
        if r["unique_id"].split(".")[2] in ("base_platform__api_requests", "fct_api_requests")
        and CUTOFF_IN_SQL.search(r["compiled_code"] or "")
    }


def window_start(sql: str) -> str | None:
    match = WINDOW.search(sql)
    return match.group(1) if match else None


@dataclass
class Runs:
    daily_warehouse: Path
    daily: WindowedTests
    daily_cutoffs: dict[str, str]
    tests_alone: WindowedTests
    full_refresh: WindowedTests
    fact_duplicate: WindowedTests
    staged_duplicate: WindowedTests
    duplicate_warehouse: Path
    duplicate_keys: tuple[str, str]
    untested: WindowedTests
    untested_cutoffs: list[str]


def inject_duplicates(warehouse: Path) -> tuple[str, str]:
    """Insert into base_platform__api_requests a staged copy of two requests whose first
    version is in the new delivery, under another version_key, so the incremental run
    keeps them (it replaces rows by version_key) and stages each request twice. The
    first copy has an old `_loaded_at` (a row the run did not write: only a window of
    whole keys sees it beside the new one), the second the delivery's (so the fact's
    incremental run inserts both copies)."""
    [(old_key, new_key)] = fetch_rows(
        warehouse,
        "select min(request_id), max(request_id) from raw.api_requests where _loaded_at >= ? "
        "and request_id = trim(request_id) and response_time_ms between 0 and 1000 "
        "and status_code between 100 and 599 and requested_at < cast(_loaded_at as varchar) "
        "and request_id not in "
        "(select record_key from staging.base_platform__api_requests where record_key is not null)",
        [CUTOFF],
    )
    for key, loaded_at in (
        (old_key, "min(_loaded_at)"),
        (new_key, "max(_loaded_at)"),
    ):
        execute_on(
            warehouse,
            "insert into staging.base_platform__api_requests "
            f"select * replace ('{key}' as request_id, '{key}' as record_key, "
            f"'injected' as version_key, (select {loaded_at} from raw.api_requests) "
            "as _loaded_at) "
            "from staging.base_platform__api_requests "
            "where duplicate_rank = 1 and quarantine_reason is null limit 1",
        )
    return old_key, new_key


@pytest.fixture(scope="module")
def runs(dirty: DataSet, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    root = tmp_path_factory.mktemp("windowed_tests")
    before, after = root / "before", root / "after"
    split_by_loaded_at(dirty.out, before, after, CUTOFF)
    history = root / "history.duckdb"
    with scoped_environment({"OPSMETRICS_DUCKDB_PATH": str(history)}):
        load_duckdb(before)
        # As a new warehouse's first build (make demo, bench daily): --full-refresh, whose
        # hooks once rolled the ledger's creation back.
        run_dbt(["build", "--full-refresh", *SELECTION])
    copies = {name: root / f"{name}.duckdb" for name in ("daily", "duplicate", "untested")}
    for copy in copies.values():
        shutil.copy(history, copy)

    with scoped_environment({"OPSMETRICS_DUCKDB_PATH": str(copies["daily"])}):
        load_duckdb(after)
        daily = dbt_tests(["build", *SELECTION])
        daily_cutoffs = model_cutoffs()
        tests_alone = dbt_tests(["test", "--select", *WINDOWED])
        full_refresh = dbt_tests(["build", "--full-refresh", *SELECTION])

    with scoped_environment({"OPSMETRICS_DUCKDB_PATH": str(copies["duplicate"])}):
        load_duckdb(after)
        keys = inject_duplicates(copies["duplicate"])
        # A failing staging test skips the fact: first without it, then with it.
        fact_duplicate = dbt_tests(["build", *SELECTION, "--exclude", WINDOWED[0]])
        staged_duplicate = dbt_tests(["build", *SELECTION])

    # A run that builds without testing (`dbt run`) between two deliveries: the next
    # build must test from that run's cutoff on.
    with scoped_environment({"OPSMETRICS_DUCKDB_PATH": str(copies["untested"])}):
        half = root / "half"
        split_by_loaded_at(after, half, root / "rest", CUTOFF.replace(hour=12))
        load_duckdb(half)
        run_dbt(["run", *MODELS])
        untested_cutoffs = [model_cutoffs()["base_platform__api_requests"]]
        load_duckdb(after)
        untested = dbt_tests(["build", *SELECTION])
        untested_cutoffs.append(model_cutoffs()["base_platform__api_requests"])

    yield Runs(
        copies["daily"],
        daily,
        daily_cutoffs,
        tests_alone,
        full_refresh,
        fact_duplicate,
        staged_duplicate,
        copies["duplicate"],
        keys,
        untested,
        untested_cutoffs,
    )


def test_a_daily_run_tests_only_the_keys_it_re_read(runs):
    """Each unique test reads the rows of the keys loaded since its model's cutoff (base
    for the staged view, the fact's own for the fact), and passes."""
    assert (
        window_start(runs.daily.sql[WINDOWED[0]])
        == runs.daily_cutoffs["base_platform__api_requests"]
    )
    assert window_start(runs.daily.sql[WINDOWED[1]]) == runs.daily_cutoffs["fct_api_requests"]
    assert runs.daily.failures == {test: 0 for test in WINDOWED}


def test_the_window_is_a_small_part_of_the_table(runs):
    """The windowed fact test reads the delivery's requests, the unstamped ones and the
    lookback's: well under the table (the same data after the full refresh)."""
    sql = runs.daily.sql[WINDOWED[1]]
    subquery = sql[sql.index("(select * from") : sql.index(" dbt_subquery") + len(" dbt_subquery")]
    [(window, table)] = fetch_rows(
        runs.daily_warehouse,
        f"select (select count(*) from {subquery}), (select count(*) from marts.fct_api_requests)",
    )
    assert 0 < window < table / 5


def test_a_duplicate_the_run_inserts_fails_the_windowed_tests(runs):
    """The injected copies and the delivery's versions of two requests: the fact inserts
    both rows of the one copied with the delivery's load time (its test ran with the
    staging test left out, which would skip the fact), and the staged view shows both
    rows of each (the next build's staging test, windowed again from the run whose test
    did not pass, finds the old copy beside the new version too)."""
    old_key, new_key = runs.duplicate_keys
    [(old_rows, new_rows)] = fetch_rows(
        runs.duplicate_warehouse,
        "select count(case when request_id = ? then 1 end), "
        "count(case when request_id = ? then 1 end) from marts.fct_api_requests",
        [old_key, new_key],
    )
    assert (old_rows, new_rows) == (1, 2)
    assert runs.fact_duplicate.failures[WINDOWED[1]] == 1
    assert runs.staged_duplicate.failures[WINDOWED[0]] == 2
    assert window_start(runs.fact_duplicate.sql[WINDOWED[1]])
    assert window_start(runs.staged_duplicate.sql[WINDOWED[0]])


def test_dbt_test_alone_reads_the_whole_table(runs):
    for test in WINDOWED:
        assert "dbt_subquery" not in runs.tests_alone.sql[test]
        assert runs.tests_alone.failures[test] == 0


def test_a_full_refresh_reads_the_whole_table(runs):
    for test in WINDOWED:
        assert "dbt_subquery" not in runs.full_refresh.sql[test]
        assert runs.full_refresh.failures[test] == 0


def test_after_a_build_without_tests_the_window_starts_at_that_builds_cutoff(runs):
    """`dbt run` built the half delivery untested; the next build's window starts at the
    cutoff of that run (the earlier of the two), not its own."""
    earlier, own = runs.untested_cutoffs
    assert earlier < own
    assert window_start(runs.untested.sql[WINDOWED[0]]) == earlier
    assert runs.untested.failures[WINDOWED[0]] == 0


# A sequence of runs whose windows reach back over several invocations: two `dbt run`s
# of parts of the delivery, a build without the staged test, then builds and `dbt test`.
LEDGER_STEPS: list[tuple[str, list[str]]] = [
    ("run_first_part", ["run", *MODELS]),
    ("run_second_part", ["run", *MODELS]),
    ("build_without_staged_test", ["build", *SELECTION, "--exclude", WINDOWED[0]]),
    ("build", ["build", *SELECTION]),
    ("build_nothing_delivered", ["build", *SELECTION]),
    ("tests_alone", ["test", "--select", *WINDOWED]),
]
# Taken out of dbt_project.yml in a copy of the project, whose ledger is never trimmed.
TRIM_HOOK = '  - "{{ opsmetrics.trim_test_window_ledger() }}"\n'


@dataclass
class LedgerRuns:
    """Per project (trimmed, untrimmed): each step's window start of each windowed test
    (None: the whole table, or the test did not run) and the ledger's rows after it."""

    windows: dict[str, list[dict[str, str | None]]]
    ledger_rows: dict[str, list[int]]
    first_cutoff: str


@pytest.fixture(scope="module")
def ledger_runs(dirty: DataSet, tmp_path_factory: pytest.TempPathFactory) -> LedgerRuns:
    root = tmp_path_factory.mktemp("ledger_trim")
    before, after = root / "before", root / "after"
    split_by_loaded_at(dirty.out, before, after, CUTOFF)
    parts = [root / "part1", root / "part2", root / "part3"]
    split_by_loaded_at(after, parts[0], root / "rest", CUTOFF.replace(hour=8))
    split_by_loaded_at(root / "rest", parts[1], parts[2], CUTOFF.replace(hour=16))
    untrimmed = root / "untrimmed"
    shutil.copytree(project_dir(), untrimmed, ignore=NOT_PROJECT_FILES)
    project_file = untrimmed / "dbt_project.yml"
    assert TRIM_HOOK in project_file.read_text()
    project_file.write_text(project_file.read_text().replace(TRIM_HOOK, ""))

    windows: dict[str, list[dict[str, str | None]]] = {}
    ledger_rows: dict[str, list[int]] = {}
    for name, project in (("trimmed", project_dir()), ("untrimmed", untrimmed)):
        warehouse = root / f"{name}.duckdb"
        windows[name], ledger_rows[name] = [], []
        with (
            use_project_dir(project),
            scoped_environment({"OPSMETRICS_DUCKDB_PATH": str(warehouse)}),
        ):
            load_duckdb(before)
            run_dbt(["build", "--full-refresh", *SELECTION])
            for step, (_, args) in enumerate(LEDGER_STEPS):
                if step < len(parts):
                    load_duckdb(parts[step])
                tests = dbt_tests(args)
                if step == 0:
                    first_cutoff = model_cutoffs()["base_platform__api_requests"]
                windows[name].append({test: window_start(sql) for test, sql in tests.sql.items()})
                [(rows,)] = fetch_rows(warehouse, "select count(*) from test_windows.ledger")
                ledger_rows[name].append(rows)
    return LedgerRuns(windows, ledger_rows, first_cutoff)


def test_trimming_the_ledger_changes_no_window(ledger_runs):
    """Every windowed test reads the same rows, step by step, with and without the trim;
    the build after two `dbt run`s and a build without the staged test windows that
    test from the first `dbt run`'s cutoff, which three trims in between kept."""
    assert ledger_runs.windows["trimmed"] == ledger_runs.windows["untrimmed"]
    steps = [name for name, _ in LEDGER_STEPS]
    build = ledger_runs.windows["trimmed"][steps.index("build")]
    assert build[WINDOWED[0]] == ledger_runs.first_cutoff
    assert build[WINDOWED[1]] is not None


def test_the_trimmed_ledger_keeps_the_latest_pass_of_each_windowed_test(ledger_runs):
    """After a build or `dbt test` in which both tests passed, nothing later than their
    passes is left to check: one row per test; the untrimmed ledger keeps growing."""
    trimmed, untrimmed = ledger_runs.ledger_rows["trimmed"], ledger_runs.ledger_rows["untrimmed"]
    assert trimmed[-3:] == [len(WINDOWED)] * 3
    assert untrimmed[-1] > untrimmed[-2] > untrimmed[-3] > trimmed[-1]
