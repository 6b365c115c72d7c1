"""The dispatched parsing macros give the same answer on DuckDB and Postgres, including on
text the generated data never holds (the parity test only sees what the generator makes)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest

from opsmetrics.dbt_invoke import run_dbt

pytestmark = pytest.mark.postgres

TIMESTAMP_TEXTS = [
    "2025-01-05T10:00:00Z",
    "2025-01-05T10:00:00+02:00",
    "2025-01-05T10:00:00.5-0330",
    "2025-01-05T10:00:00+05",
    "2025-01-05T10:00:00.123456789Z",
    "2025-01-05T10:00:00.123Z",
    "2025-01-05 10:00:00",
    "2025-01-05T10:00:00",
    "2025-01-05T10:00Z",
    "2025-01-05",
    "  2025-01-05T10:00:00Z ",
    "2025-01-05T10:00:00 UTC",
    "2025-01-05T10:00:00 Europe/Paris",
    "2025-01-05T24:00:00Z",
    "2025-1-5T10:00:00Z",
    "2025-13-05T10:00:00Z",
    "2025-02-30T00:00:00Z",
    "35/01/2025 27:15",
    "05/01/2025",
    "Jan 5 2025",
    "20250105T100000Z",
    "2025-01-05t10:00:00z",
    "2025-01-05T10:00:00 +02:00",
    "now",
    "today",
    "not-a-date",
    "",
    None,
]
DATE_TEXTS = [
    "2025-01-05",
    " 2025-01-05 ",
    "0001-01-01",
    "2025-1-5",
    "2025-01-05 10:00:00",
    "2025-01-05T10:00:00Z",
    "2025-13-05",
    "2025-02-30",
    "35/01/2025",
    "20250105",
    "epoch",
    "today",
    "",
    None,
]
# Lenient JSON (NaN, Infinity, trailing commas) is left out on purpose: DuckDB accepts
# it, Postgres does not (docs/decisions.md, Warehouses).
JSON_TEXTS = [
    '{"path": "/x"}',
    '{"path": "/x"',
    '{"path": "/x',
    "{'path': 1}",
    " [1, 2] ",
    '"text"',
    "null",
    "1",
    '{"a": 1} x',
    '{"a": 1}{"b": 2}',
    "",
    None,
]


TEXTS = [*TIMESTAMP_TEXTS, *DATE_TEXTS, *JSON_TEXTS]
MACROS = {"parse_timestamp_utc": datetime, "parse_date": date, "is_valid_json": bool}


def _literal(text: str | None) -> str:
    return "null" if text is None else "'" + text.replace("'", "''") + "'"


def parsed_on(target: str) -> dict[str, list[object]]:
    """Every macro applied to every text, run on `target` with dbt show: by macro, the
    results in the order of TEXTS."""
    rows = ", ".join(f"({i}, {_literal(text)})" for i, text in enumerate(TEXTS))
    parsed = ", ".join(f"{{{{ opsmetrics.{macro}('v') }}}} as {macro}" for macro in MACROS)
    query = f"select i, {parsed} from (values {rows}) as t (i, v) order by i"
    result = run_dbt(["show", "--inline", query, "--limit", "-1", "--quiet"], target=target)
    table = result.result.results[0].agate_table
    return {macro: list(table.columns[macro].values()) for macro in MACROS}


def test_parsing_macros_agree_on_duckdb_and_postgres(
    tiny_postgres: dict[str, str | int], tiny_warehouse: Path
) -> None:
    on_duckdb = parsed_on("duckdb")
    on_postgres = parsed_on("postgres")

    differing = [
        f"{macro}({text!r}): duckdb {a!r}, postgres {b!r}"
        for macro in MACROS
        for text, a, b in zip(TEXTS, on_duckdb[macro], on_postgres[macro], strict=True)
        if a != b
    ]
    assert not differing, "\n".join(differing)
    for macro, expected_type in MACROS.items():
        parsed = [value for value in on_duckdb[macro] if value is not None]
        assert parsed and all(isinstance(value, expected_type) for value in parsed), macro
