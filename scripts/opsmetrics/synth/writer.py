"""Turn a built table into a contract Parquet file, injecting known defects on the way.

A builder hands over numpy arrays (the "base") and one SQL expression per contract
column over them; DuckDB formats the text columns and writes Parquet. Defects are
chosen here, one class per affected row, so every table follows the same rules.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from opsmetrics.contract import DUCKDB_TYPES, raw_tables
from opsmetrics.synth.common import DAY, HOUR, MINUTE, Context, iso_sql

DUPLICATE_CLASSES = ("exact_duplicate", "resent_row", "tied_duplicate", "resent_invalid_row")
"""Classes that append a copy of a clean row instead of spoiling the row itself: verbatim
(exact), loaded later (resent), loaded at the same instant with one value changed (tied:
staging must pick the same copy on every build), loaded later with a rule broken
(resent_invalid_row: the correction is quarantined, the original stays)."""
LATER_COPIES = ("resent_row", "resent_invalid_row")
TIE_COLUMNS = {
    "customers": "company_name", "users": "created_at", "subscriptions": "plan_id",
    "transactions": "type", "fx_rates": "rate_to_usd", "acquisition_costs": "currency",
    "events": "anonymous_id", "survey_responses": "survey_type", "api_requests": "service",
    "health_checks": "service", "system_metrics": "service", "scaling_events": "service",
    "manual_metrics": "unit",
}  # fmt: skip
"""The column a tied copy changes: one of staging's tie-break columns
(macros/tie_break_columns.sql) after which only equal columns come first, never hashed
and never a foreign key (the copy must not look like an orphan in raw); the changed
copy sorts after the original, so the original is the one kept."""
CHUNK_ROWS = 250_000
"""Rows formatted and written at a time (`_write_in_chunks`)."""
NON_FINITE = ("cast('NaN' as double)", "cast('Infinity' as double)", "cast('-Infinity' as double)")


@dataclass(frozen=True)
class Defect:
    """A defect class and the ways it can spoil a row.

    Each override is (contract column, SQL giving the bad value; `$expr` stands for
    the column's clean expression). A defective row gets exactly one override.
    """

    name: str
    overrides: tuple[tuple[str, str], ...] = ()
    eligible: np.ndarray | None = None


@dataclass
class TableBuild:
    """A table ready to write.

    `base` holds int64-microsecond times `_ts` (the main timestamp or date) and
    `_loaded`, plus whatever the column expressions read.
    """

    name: str
    base: dict[str, np.ndarray]
    columns: dict[str, str]
    key: tuple[str, ...]
    main: str
    date_main: bool = False
    defects: list[Defect] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.base["_loaded"])


def standard_defects(build: TableBuild, ctx: Context, nullable: tuple[str, ...]) -> list[Defect]:
    """The classes every table can have: duplicates, a nulled required field, bad times."""
    required = [
        c for c in build.columns if c not in build.key and c not in nullable and c != build.main
    ]
    return [
        Defect("exact_duplicate"),
        Defect("resent_row"),
        tied_defect(build),
        Defect("null_required_field", tuple((c, "NULL") for c in required)),
        Defect("missing_loaded_at", (("_loaded_at", "NULL"),)),
        unparseable_defect(build),
        future_defect(build, ctx),
    ]


def tied_defect(build: TableBuild) -> Defect:
    """A copy loaded at the same instant as the original, one value changed so that it
    sorts after it (text + '~', numbers + 1)."""
    column = TIE_COLUMNS[build.name]
    types = {c.name: c.data_type for c in raw_tables()[build.name].columns}
    bad = "$expr || '~'" if types[column] == "varchar" else "$expr + 1"
    return Defect("tied_duplicate", ((column, bad),))


def non_finite_defect(*columns: str) -> Defect:
    """NaN, +Infinity or -Infinity in one of the given double columns."""
    return Defect("non_finite_number", tuple((c, v) for c in columns for v in NON_FINITE))


def unparseable_defect(build: TableBuild) -> Defect:
    """Garble the main time into text no parser accepts (distinct per original value)."""
    if build.date_main:
        variants = [
            "strftime(_ts, '%Y-') || (month(_ts) + 12) || strftime(_ts, '-%d')",
            "(day(_ts) + 31) || strftime(_ts, '/%m/%Y')",
        ]
    else:
        variants = [
            "strftime(_ts, '%Y-') || (month(_ts) + 12) || strftime(_ts, '-%dT%H:%M:%SZ')",
            "strftime(_ts, '%d/%m/%Y ') || (hour(_ts) + 25) || strftime(_ts, ':%M')",
        ]
        if build.main not in build.key:
            variants.append("'not-a-date'")
    return Defect("unparseable_timestamp", tuple((build.main, v) for v in variants))


def future_defect(build: TableBuild, ctx: Context) -> Defect:
    """Move the main time years ahead: past the end of history plus 60 days."""
    shift_days = (ctx.end_us - ctx.start_us) // DAY + 60 + 365
    shifted = f"(_ts + to_days({shift_days}))"
    bad = f"strftime({shifted}, '%Y-%m-%d')" if build.date_main else iso_sql(shifted)
    return Defect("future_timestamp", ((build.main, bad),))


def choose_defects(
    rng: np.random.Generator, n: int, defects: list[Defect], rate: float
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Pick the rows of each class: share `rate` in all, at least one per class.

    Returns the class code of every row (0 = clean, i + 1 = defects[i]) and the rows
    picked per class.
    """
    codes = np.zeros(n, dtype=np.int8)
    picked: dict[str, np.ndarray] = {}
    per_class = max(1, round(rate * n / len(defects))) if rate > 0 and defects else 0
    for code, defect in enumerate(defects, start=1):
        free = codes == 0
        if defect.eligible is not None:
            free &= defect.eligible
        candidates = np.flatnonzero(free)
        k = min(per_class, len(candidates))
        rows = np.sort(rng.choice(candidates, k, replace=False)) if k else candidates[:0]
        codes[rows] = code
        picked[defect.name] = rows
    return codes, picked


def _copies(
    build: TableBuild, rng: np.random.Generator, picked: dict[str, np.ndarray], end_us: int
) -> tuple[dict[str, np.ndarray], list[str]]:
    """The appended rows and the class of each: exact and tied copies keep the original's
    _loaded_at, resent ones are loaded later."""
    names = [name for name in DUPLICATE_CLASSES if name in picked]
    rows = np.concatenate([picked[name] for name in names] or [np.empty(0, np.int64)])
    classes = [name for name in names for _ in picked[name]]
    copies = {name: values[rows] for name, values in build.base.items()}
    later = np.isin(np.array(classes, dtype=object), LATER_COPIES)
    loaded = copies["_loaded"]
    loaded[later] = np.minimum(loaded[later] + rng.integers(HOUR, 2 * DAY, later.sum()), end_us)
    return copies, classes


def _arrow(base: dict[str, np.ndarray], codes: np.ndarray, darg: np.ndarray) -> pa.Table:
    columns = {}
    for name, values in base.items():
        if name in ("_ts", "_loaded") or name.startswith("_t_"):
            values = values.astype(np.int64, copy=False).view("datetime64[us]")
        columns[name] = values
    columns["_defect"] = codes
    columns["_darg"] = darg
    return pa.table(columns)


def _select_sql(build: TableBuild, override_classes: list[Defect]) -> str:
    expressions = {**build.columns, "_loaded_at": "_loaded"}
    for code, defect in enumerate(override_classes, start=1):
        count = len(defect.overrides)
        for variant, (column, bad) in enumerate(defect.overrides):
            condition = f"_defect = {code}"
            if count > 1:
                condition += f" and _darg % {count} = {variant}"
            clean = expressions[column]
            expressions[column] = (
                f"case when {condition} then {bad.replace('$expr', clean)} else {clean} end"
            )
    table = raw_tables()[build.name]
    selected = [
        f'cast({expressions[c.name]} as {DUCKDB_TYPES[c.data_type]}) as "{c.name}"'
        for c in table.columns
    ]
    return "select " + ",\n  ".join(selected) + " from base"


def write_table(
    build: TableBuild, ctx: Context, out: Path, rate: float
) -> tuple[int, dict[str, int]]:
    """Write `out/<name>.parquet`; returns rows written and defect counts per class."""
    rng = ctx.rng(f"defects/{build.name}")
    n = len(build)
    resendable = build.base["_loaded"] < ctx.end_us - MINUTE
    defects = [
        replace(d, eligible=resendable if d.eligible is None else d.eligible & resendable)
        if d.name in LATER_COPIES
        else d
        for d in build.defects
    ]
    _, picked = choose_defects(rng, n, defects, rate)
    override_classes = [d for d in build.defects if d.overrides]
    code_of = {d.name: code for code, d in enumerate(override_classes, start=1)}
    sql_codes = np.zeros(n, dtype=np.int8)
    for defect in override_classes:
        if defect.name not in DUPLICATE_CLASSES:
            sql_codes[picked[defect.name]] = code_of[defect.name]
    darg = rng.integers(0, 1 << 30, n, dtype=np.int32)
    copies, copy_classes = _copies(build, rng, picked, ctx.end_us)
    n_copies = len(copies["_loaded"])
    table = _arrow(build.base, sql_codes, darg)
    if n_copies:
        copy_codes = np.array([code_of.get(c, 0) for c in copy_classes], dtype=np.int8)
        copy_table = _arrow(copies, copy_codes, darg[:n_copies])
        table = pa.concat_tables([table, copy_table])
    _write_in_chunks(table, _select_sql(build, override_classes), out / f"{build.name}.parquet")
    return n + n_copies, {name: len(rows) for name, rows in picked.items()}


def _write_in_chunks(
    table: pa.Table, select_sql: str, target: Path, chunk_rows: int = CHUNK_ROWS
) -> None:
    """Format `table` with `select_sql` (which reads it as `base`) and write the result as
    Parquet, `chunk_rows` rows at a time: only one chunk's text columns are in memory,
    whatever the table's size. Every expression is row by row, so the rows are the same
    for any chunk size."""
    connection = duckdb.connect()
    writer: pq.ParquetWriter | None = None
    try:
        connection.execute("set preserve_insertion_order = true")
        connection.execute("set enable_progress_bar = false")
        for start in range(0, max(table.num_rows, 1), chunk_rows):
            connection.register("base", table.slice(start, chunk_rows))
            chunk = connection.sql(select_sql).to_arrow_table()
            connection.unregister("base")
            if writer is None:
                writer = pq.ParquetWriter(target, chunk.schema, compression="zstd")
            writer.write_table(chunk)
    finally:
        if writer is not None:
            writer.close()
        connection.close()
