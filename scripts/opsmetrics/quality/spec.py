"""The suite spec (gx/suites.yml) turned into Great Expectations suites, table by table."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import great_expectations as gx
import yaml
from great_expectations.expectations import Expectation

from opsmetrics.contract import raw_tables
from opsmetrics.settings import PROJECT_FILE, project_dir

STAGING_SCHEMA = "staging"


@dataclass(frozen=True)
class TableSuite:
    """One table's suite: where the table lives and what it must satisfy."""

    layer: str
    schema: str
    table: str
    expectations: list[Expectation] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"{self.layer}.{self.table}"


def load_spec(path: Path | None = None) -> dict[str, Any]:
    """The suite spec, by default the project's gx/suites.yml."""
    return yaml.safe_load((path or project_dir() / "gx" / "suites.yml").read_text())


def table_suites(spec: dict[str, Any] | None = None) -> list[TableSuite]:
    """Every table suite of the spec, in spec order (raw, staging, marts)."""
    spec = spec if spec is not None else load_spec()
    max_lag_hours = int(spec["freshness_max_lag_hours"])
    suites = []
    for layer, layer_spec in spec["layers"].items():
        schema = layer_spec["schema"]
        for table, rules in (layer_spec.get("tables") or {}).items():
            rules = rules or {}
            expectations = _expectations(rules, max_lag_hours)
            if layer == "raw":
                staged_where = rules.get("reconcile_staged_where")
                expectations = _raw_expectations(table, staged_where) + expectations
            suites.append(TableSuite(layer, schema, table, expectations))
    return suites


def _raw_expectations(table: str, staged_where: str | None) -> list[Expectation]:
    """What the loader guarantees: exactly the contract's columns; the row-count
    reconciliation with staging; and the quarantined share below the error threshold."""
    contract = raw_tables()[table]
    return [
        gx.expectations.ExpectTableColumnsToMatchSet(
            column_set=contract.column_names, exact_match=True
        ),
        _reconciliation(contract.source, table, staged_where),
        _quarantined_share(contract.source, table),
    ]


def quarantine_thresholds(path: Path | None = None) -> tuple[float, int]:
    """(error share in percent, fewest kept rows a table or delivery needs to be judged): the
    dbt vars quarantine_error_pct and quarantine_min_rows, written once in
    dbt_project.yml and read here so GX and dbt's quarantined_share test agree."""
    project_vars = yaml.safe_load((path or project_dir() / PROJECT_FILE).read_text())["vars"]
    return float(project_vars["quarantine_error_pct"]), int(project_vars["quarantine_min_rows"])


def _quarantined_share(source: str, table: str) -> Expectation:
    """GX mirror of dbt's quarantined_share test at its error level: the share of kept
    rows quarantined for their own fault (parent_quarantined counts at the parent),
    overall and per delivery (UTC day of _loaded_at) of enough rows."""
    error_pct, min_rows = quarantine_thresholds()
    base = f"{STAGING_SCHEMA}.base_{source}__{table}"
    own_fault = "count(case when quarantine_reason <> 'parent_quarantined' then 1 end)"
    query = f"""
        select * from (
            select 'overall' as scope, cast(null as date) as delivery_date,
                count(*) as kept_rows, {own_fault} as quarantined_rows
            from {base} where duplicate_rank = 1
            having count(*) >= {min_rows}
            union all
            select 'delivery' as scope, cast(_loaded_at as date) as delivery_date,
                count(*) as kept_rows, {own_fault} as quarantined_rows
            from {base} where duplicate_rank = 1 and _loaded_at is not null
            group by cast(_loaded_at as date)
            having count(*) >= {min_rows}
        ) as scopes
        where kept_rows > 0 and quarantined_rows * 100.0 / kept_rows > {error_pct}
            and exists (select 1 from {{batch}})
    """
    return _unexpected_rows(
        query,
        f"quarantined share: at most {error_pct:g} % of {base}'s kept rows, overall "
        f"and per delivery, each of at least {min_rows} rows",
    )


def _reconciliation(source: str, table: str, staged_where: str | None) -> Expectation:
    staged = f"{STAGING_SCHEMA}.stg_{source}__{table}"
    staged_filter = f" where {staged_where}" if staged_where else ""
    quarantine = f"{STAGING_SCHEMA}.stg_{source}__quarantine"
    base = f"{STAGING_SCHEMA}.base_{source}__{table}"
    query = f"""
        select * from (
            select
                (select count(*) from {{batch}}) as raw_rows,
                (select count(*) from {staged}{staged_filter}) as staged_rows,
                (select count(*) from {quarantine} where source_table = '{table}')
                    as quarantined_rows,
                (select count(*) from {base} where duplicate_rank > 1) as duplicate_rows
        ) as layer_counts
        where raw_rows <> staged_rows + quarantined_rows + duplicate_rows
    """
    return _unexpected_rows(
        query,
        f"reconciliation: raw.{table} rows = staged ({staged}) + quarantined + removed duplicates",
    )


def _expectations(rules: dict[str, Any], max_lag_hours: int) -> list[Expectation]:
    expectations: list[Expectation] = []
    if "columns" in rules:
        expectations.append(
            gx.expectations.ExpectTableColumnsToMatchSet(
                column_set=rules["columns"], exact_match=False
            )
        )
    if "row_count_min" in rules:
        expectations.append(
            gx.expectations.ExpectTableRowCountToBeBetween(min_value=rules["row_count_min"])
        )
    key = rules.get("key", [])
    for column in [*key, *(c for c in rules.get("not_null", []) if c not in key)]:
        expectations.append(gx.expectations.ExpectColumnValuesToNotBeNull(column=column))
    if len(key) == 1:
        expectations.append(gx.expectations.ExpectColumnValuesToBeUnique(column=key[0]))
    elif key:
        expectations.append(gx.expectations.ExpectCompoundColumnsToBeUnique(column_list=key))
    for column, values in (rules.get("accepted_values") or {}).items():
        expectations.append(
            gx.expectations.ExpectColumnValuesToBeInSet(column=column, value_set=values)
        )
    for name, bounds in (rules.get("ranges") or {}).items():
        expectations.append(_range(name, bounds))
    if "freshness" in rules:
        expectations.append(_freshness(rules["freshness"], max_lag_hours))
    return expectations


def _range(name: str, bounds: dict[str, Any]) -> Expectation:
    column = bounds.get("column", name)
    low, high = bounds.get("min"), bounds.get("max")
    strict_min = bool(bounds.get("strict_min", False))
    if "where" not in bounds:
        return gx.expectations.ExpectColumnValuesToBeBetween(
            column=column, min_value=low, max_value=high, strict_min=strict_min
        )
    # A range that holds on a subset of rows (NPS 0-10 only for NPS answers) is written
    # as SQL: GX's row_condition grammar cannot say `like`, and SQL runs on both targets.
    inside = []
    if low is not None:
        inside.append(f"{column} {'>' if strict_min else '>='} {low}")
    if high is not None:
        inside.append(f"{column} <= {high}")
    query = (
        f"select * from {{batch}} where ({bounds['where']}) "
        f"and {column} is not null and not ({' and '.join(inside)})"
    )
    return _unexpected_rows(
        query,
        f"range {name}: {column} in [{low}, {high}] where {bounds['where']}",
    )


def _freshness(column: str, max_lag_hours: int) -> Expectation:
    # The data's own end is its newest _loaded_at, not the wall clock: a historical or
    # generated data set is judged against when it was loaded.
    query = f"""
        select max({column}) as newest_at, max(_loaded_at) as data_end_at
        from {{batch}}
        having
            max({column}) is null
            or max({column}) < max(_loaded_at) - interval '{max_lag_hours} hours'
    """
    return _unexpected_rows(
        query,
        f"freshness: newest {column} within {max_lag_hours}h of newest _loaded_at",
    )


def _unexpected_rows(query: str, description: str) -> Expectation:
    """A rule written as SQL returning the rows that break it; `description` names it."""
    return gx.expectations.UnexpectedRowsExpectation(
        unexpected_rows_query=query, description=description
    )
