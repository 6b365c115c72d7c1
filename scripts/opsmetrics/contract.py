"""The raw data contract, read from the dbt source YAML so it is written down once."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from opsmetrics.settings import project_dir

SOURCES_GLOB = "models/staging/*/_*__sources.yml"

# dbt/YAML data_type -> DuckDB type used when loading files into raw.
DUCKDB_TYPES = {
    "varchar": "VARCHAR",
    "integer": "BIGINT",
    "double": "DOUBLE",
    "boolean": "BOOLEAN",
    "timestamp": "TIMESTAMP",
}

# dbt/YAML data_type -> PostgreSQL type of the same raw table (see docs/decisions.md).
POSTGRES_TYPES = {
    "varchar": "text",
    "integer": "bigint",
    "double": "double precision",
    "boolean": "boolean",
    "timestamp": "timestamp",
}


@dataclass(frozen=True)
class Column:
    name: str
    data_type: str


@dataclass(frozen=True)
class RawTable:
    source: str
    name: str
    columns: tuple[Column, ...]

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


def raw_tables(project: Path | None = None) -> dict[str, RawTable]:
    """Every raw table of the contract of `project` (default: the project this process
    works on), by table name, in source-file order."""
    return _raw_tables(project or project_dir())


@cache
def _raw_tables(project: Path) -> dict[str, RawTable]:
    tables: dict[str, RawTable] = {}
    for path in sorted(project.glob(SOURCES_GLOB)):
        for source in yaml.safe_load(path.read_text())["sources"]:
            for table in source["tables"]:
                columns = tuple(Column(c["name"], c["data_type"]) for c in table["columns"])
                tables[table["name"]] = RawTable(source["name"], table["name"], columns)
    if not tables:
        raise RuntimeError(f"no raw contract found under {project / SOURCES_GLOB}")
    return tables
