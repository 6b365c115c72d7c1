"""Staging loses nothing and names every defect the generator planted."""

from __future__ import annotations

import duckdb

DUPLICATE_CLASSES = {"exact_duplicate", "resent_row", "tied_duplicate"}
# Children of a quarantined parent are quarantined too, as parent_quarantined (see
# decisions.md): that reason is never planted, it follows from the parents' defects.
CASCADING_CLASSES = {"parent_quarantined"}
# Generator classes whose rows staging quarantines under another name, and classes it
# accepts (staged, not quarantined).
CLASS_REASONS = {"resent_invalid_row": "invalid_value", "fractional_score": "invalid_value"}
STAGED_CLASSES = {"canceled_without_price"}


def planted_by_reason(defects: dict[str, int]) -> dict[str, int]:
    """Rows staging should quarantine, per reason, from a table's planted defects."""
    expected: dict[str, int] = {}
    for defect, planted in defects.items():
        if defect in DUPLICATE_CLASSES or defect in STAGED_CLASSES:
            continue
        reason = CLASS_REASONS.get(defect, defect)
        expected[reason] = expected.get(reason, 0) + planted
    return expected


def quarantine_counts(warehouse: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], int]:
    schemas = warehouse.execute(
        """
        select table_name from information_schema.tables
        where table_schema = 'staging' and table_name like 'stg\\_%\\_\\_quarantine' escape '\\'
        """
    ).fetchall()
    counts: dict[tuple[str, str], int] = {}
    for (name,) in schemas:
        for table, reason, count in warehouse.execute(
            f"select source_table, reason, count(*) from staging.{name} group by all"
        ).fetchall():
            counts[(table, reason)] = count
    return counts


def test_every_raw_row_is_staged_quarantined_or_a_removed_duplicate(warehouse, tiny_manifest):
    rows = warehouse.execute(
        "select source_table, raw_rows, is_reconciled from marts.fct_staging_reconciliation"
    ).fetchall()
    assert {name for name, _, _ in rows} == set(tiny_manifest["tables"])
    for name, raw_rows, is_reconciled in rows:
        assert is_reconciled, name
        assert raw_rows == tiny_manifest["tables"][name]["rows"], name


def test_every_planted_defect_is_quarantined_under_its_own_name(warehouse, tiny_manifest):
    quarantined = quarantine_counts(warehouse)
    duplicates = dict(
        warehouse.execute(
            "select source_table, duplicate_rows_removed from marts.fct_staging_reconciliation"
        ).fetchall()
    )
    planted_any = False
    for table, entry in tiny_manifest["tables"].items():
        defects = entry["defects"]
        planted_duplicates = sum(defects.get(c, 0) for c in DUPLICATE_CLASSES)
        assert duplicates[table] == planted_duplicates, table
        for reason, planted in planted_by_reason(defects).items():
            if planted == 0:
                continue
            planted_any = True
            caught = quarantined.get((table, reason), 0)
            assert caught == planted, (table, reason, caught, planted)
    assert planted_any, "the tiny data set should carry defects"


def test_quarantine_holds_no_reason_the_generator_did_not_plant(warehouse, tiny_manifest):
    for (table, reason), count in quarantine_counts(warehouse).items():
        planted = planted_by_reason(tiny_manifest["tables"][table]["defects"])
        assert reason in CASCADING_CLASSES or planted.get(reason, 0) > 0, (table, reason, count)


def test_no_raw_email_or_comment_reaches_staging(warehouse):
    leaks = warehouse.execute(
        """
        select count(*) from information_schema.columns
        where table_schema = 'staging' and column_name in ('email', 'comment')
        """
    ).fetchone()[0]
    assert leaks == 0
    in_quarantine = warehouse.execute(
        "select count(*) from staging.stg_app__quarantine where raw_record like '%@%'"
    ).fetchone()[0]
    assert in_quarantine == 0
