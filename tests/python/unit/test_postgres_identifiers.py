"""Names that become Postgres identifiers fit its 63-byte limit (runs without a server).

Postgres silently truncates longer identifiers (two columns could collide) and dbt refuses
a unit test whose name, used for its temp relation, is longer; DuckDB has no such limit,
so only this test catches it before the Postgres build does.
"""

from __future__ import annotations

from dbt.contracts.graph.manifest import Manifest

from opsmetrics.dbt_invoke import run_dbt

POSTGRES_MAX_IDENTIFIER_BYTES = 63


def parsed_manifest() -> Manifest:
    return run_dbt(["parse", "--quiet"]).result


def too_long(names: list[str]) -> list[str]:
    return sorted(n for n in names if len(n.encode()) > POSTGRES_MAX_IDENTIFIER_BYTES)


def test_model_seed_unit_test_and_column_names_fit_postgres_identifiers() -> None:
    manifest = parsed_manifest()
    relations = [
        node.alias
        for node in manifest.nodes.values()
        if node.resource_type in ("model", "seed", "snapshot")
    ]
    unit_tests = [test.name for test in manifest.unit_tests.values()]
    columns = [
        f"{node.name}.{column}"
        for node in manifest.nodes.values()
        if node.resource_type in ("model", "seed", "snapshot")
        for column in node.columns
        if len(column.encode()) > POSTGRES_MAX_IDENTIFIER_BYTES
    ]

    assert unit_tests, "no unit tests parsed"
    assert not too_long(relations), f"relation names over 63 bytes: {too_long(relations)}"
    assert not too_long(unit_tests), f"unit test names over 63 bytes: {too_long(unit_tests)}"
    assert not columns, f"column names over 63 bytes: {columns}"
