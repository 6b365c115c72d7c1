"""The quality checkpoint: passes on generated data, names the expectation a planted
defect breaks, and reports an engine error as an error, never as a pass or a failure."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
import sqlalchemy as sa
import yaml
from conftest import execute_on, use_warehouse

from opsmetrics.quality import duckdb_dialect, run_quality
from opsmetrics.quality.run import ERROR, FAILED, PASSED, QualityResult, gx_dir


def not_passed(result: QualityResult) -> list[tuple[str, str, str]]:
    return [(o.suite, o.expectation, o.column) for o in result.outcomes if o.status != PASSED]


def test_duckdb_dialect_keeps_a_result_after_its_connection_closes(tmp_path: Path) -> None:
    """The upstream trap: GX fetches after `with engine.connect()` ends. With plain
    duckdb-engine the closing ROLLBACK replaces the result and the fetch returns []."""
    path = tmp_path / "dialect.duckdb"
    execute_on(path, "create table t as select range as id from range(5)")
    duckdb_dialect.register()
    engine = sa.create_engine(
        duckdb_dialect.connection_string(str(path)), connect_args={"read_only": True}
    )
    with engine.connect() as connection:
        result = connection.execute(sa.text("select count(*) from t"))
    assert result.fetchall() == [(5,)]
    engine.dispose()


def test_checkpoint_passes_on_generated_data_with_defects_quarantined(
    scratch_warehouse: Path,
) -> None:
    # Every run_quality here works on a copy: GX's engine keeps its DuckDB handle alive
    # after the run, which would lock the shared warehouse to its configuration.
    with duckdb.connect(str(scratch_warehouse), read_only=True) as connection:
        quarantined = connection.execute(
            "select count(*) from staging.stg_platform__quarantine"
        ).fetchone()[0]
    assert quarantined > 0, "the tiny data set should carry defects for staging to quarantine"

    result = run_quality()

    assert not_passed(result) == []
    assert result.exit_code == 0
    suites = {o.suite for o in result.outcomes}
    assert {"raw.api_requests", "staging.stg_surveys__survey_responses"} <= suites
    assert any(s.startswith("marts.") for s in suites)
    assert result.data_docs is not None and result.data_docs.exists()


def test_a_quality_run_never_writes_the_committed_gx_config(
    scratch_warehouse: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """GX writes the datasource it is given into its project config: that is a copy under
    gx/uncommitted/runtime (ignored by git), so a crash cannot leave the tree dirty. The
    GX worker writes nothing on stderr (pyspark's import warning, GX importing it, is
    filtered)."""
    committed = gx_dir() / "great_expectations.yml"
    before = (committed.read_bytes(), committed.stat().st_mtime_ns)

    result = run_quality(suites=["raw.customers"])

    assert result.errors == 0
    assert capfd.readouterr().err == ""
    assert (committed.read_bytes(), committed.stat().st_mtime_ns) == before
    runtime = yaml.safe_load(
        (gx_dir() / "uncommitted" / "runtime" / "great_expectations.yml").read_text()
    )
    assert "duckdb" in runtime["fluent_datasources"]


def test_an_unknown_suite_name_is_an_engine_error_naming_it(scratch_warehouse: Path) -> None:
    result = run_quality(suites=["raw.no_such_table"])

    assert result.exit_code == 2
    assert [o.observed for o in result.outcomes] == ["no suite named raw.no_such_table in the spec"]


def test_a_staged_row_out_of_range_fails_naming_the_expectation(
    scratch_warehouse: Path,
) -> None:
    execute_on(
        scratch_warehouse,
        """
            update staging.stg_surveys__survey_responses set score = 11
            where response_id = (
                select min(response_id) from staging.stg_surveys__survey_responses
                where survey_type = 'nps'
            )
            """,
    )

    result = run_quality(suites=["staging.stg_surveys__survey_responses"])

    assert result.exit_code == 1
    failed = [(o.expectation, o.column) for o in result.outcomes if o.status == FAILED]
    assert ("expect_column_values_to_be_between", "score") in failed
    assert any(e.startswith("range nps_score") for e, _ in failed)
    assert result.errors == 0
    observed = next(o.observed for o in result.outcomes if o.status == FAILED)
    assert "1 unexpected" in observed or "row(s) break it" in observed


def test_a_mart_row_that_does_not_reconcile_fails_the_mart_suite(
    scratch_warehouse: Path,
) -> None:
    execute_on(
        scratch_warehouse,
        "update marts.fct_staging_reconciliation set is_reconciled = false "
        "where source_table = 'customers'",
    )

    result = run_quality(suites=["marts.fct_staging_reconciliation"])

    assert result.exit_code == 1
    assert not_passed(result) == [
        (
            "marts.fct_staging_reconciliation",
            "expect_column_values_to_be_in_set",
            "is_reconciled",
        )
    ]


def test_a_lost_staged_row_breaks_the_raw_reconciliation(scratch_warehouse: Path) -> None:
    """stg_platform__health_checks is a view over its incremental base table: the row is
    lost from the base."""
    execute_on(
        scratch_warehouse,
        """
            delete from staging.base_platform__health_checks
            where check_id = (select min(check_id) from staging.stg_platform__health_checks)
            """,
    )

    result = run_quality(suites=["raw.health_checks"])

    assert result.exit_code == 1
    failed = [o for o in result.outcomes if o.status == FAILED]
    assert [o.expectation.split(":")[0] for o in failed] == ["reconciliation"]
    assert "raw_rows=" in failed[0].observed and "staged_rows=" in failed[0].observed


def test_a_missing_table_is_an_engine_error_not_a_failure(
    scratch_warehouse: Path, tmp_path: Path
) -> None:
    spec = yaml.safe_load((gx_dir() / "suites.yml").read_text())
    staging = spec["layers"]["staging"]["tables"]
    staging["stg_nowhere__nothing"] = next(iter(staging.values()))
    spec_path = tmp_path / "suites.yml"
    spec_path.write_text(yaml.safe_dump(spec))

    result = run_quality(suites=["staging.stg_nowhere__nothing"], spec=spec_path)

    assert result.exit_code == 2
    assert result.status == ERROR
    assert result.failed == 0 and result.passed == 0
    assert all("stg_nowhere__nothing" in o.observed for o in result.outcomes)


def test_a_sql_error_inside_a_rule_is_an_engine_error(scratch_warehouse: Path) -> None:
    """The reconciliation of raw.users reads stg_app__users; without it, that rule errors
    while the raw table's own rules still pass."""
    execute_on(scratch_warehouse, "drop table staging.stg_app__users")

    result = run_quality(suites=["raw.users"])

    assert result.exit_code == 2
    errored = [o for o in result.outcomes if o.status == ERROR]
    assert [o.expectation.split(":")[0] for o in errored] == ["reconciliation"]
    assert result.failed == 0 and result.passed > 0


def test_an_unreachable_warehouse_is_an_engine_error(tmp_path: Path, tiny_warehouse: Path) -> None:
    use_warehouse(tmp_path / "absent.duckdb")
    try:
        result = run_quality(suites=["raw.customers"])
    finally:
        use_warehouse(tiny_warehouse)

    assert result.exit_code == 2
    assert result.passed == 0 and result.failed == 0


@pytest.mark.postgres
def test_checkpoint_runs_on_postgres_with_no_engine_error(
    tiny_postgres: dict[str, str | int],
) -> None:
    """On the tiny Postgres warehouse (`tiny_postgres`: skipped without a server, failed
    without one under make test-postgres)."""
    result = run_quality(target="postgres")

    assert result.errors == 0, [o for o in result.outcomes if o.status == ERROR][:3]
    assert result.passed > 0
