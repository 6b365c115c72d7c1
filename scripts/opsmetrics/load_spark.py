"""Load a delivery into Spark's raw database: the same contract, checks, idempotence and
ledger as the DuckDB and PostgreSQL loaders.

DuckDB reads each file and casts it to the contract (delivery.contract_select), writing
the rows to a Parquet file in a scratch folder; only when every file has been read and
checked does Spark change the raw tables (Parquet tables): appending the rows not
already loaded (EXCEPT ALL against the rows within the file's `_loaded_at` range, so
duplicates inside a file survive for staging to see) or, with `replace`, overwriting
the table. Spark has no transaction across tables: a bad file changes nothing, but a
crash while writing can leave some tables loaded; each table's ledger row is written
right after its rows, and the EXCEPT ALL keeps a rerun from inserting a row twice.

The Spark session is the one dbt's `spark` output (profiles.yml, method `session`)
uses, built from the same settings, so the loader and dbt share one metastore.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import yaml

from opsmetrics.contract import RawTable, raw_tables
from opsmetrics.delivery import (
    LEDGER_TABLE,
    RAW_SCHEMA,
    FileSelect,
    LoadError,
    explain_error,
    find_files,
    fingerprint,
    first_line,
    load_stamp,
    read_file,
    refuse_to_empty,
)
from opsmetrics.settings import dbt_environment, project_dir, scoped_environment

# dbt/YAML data_type -> Spark type of the same raw table.
SPARK_TYPES = {
    "varchar": "string",
    "integer": "bigint",
    "double": "double",
    "boolean": "boolean",
    "timestamp": "timestamp",
}
LEDGER = f"{RAW_SCHEMA}.`{LEDGER_TABLE}`"
LEDGER_COLUMNS = (
    ("table_name", "string"),
    ("file_sha256", "string"),
    ("file_name", "string"),
    ("file_rows", "bigint"),
    ("inserted_rows", "bigint"),
    ("loaded_at_stamp", "timestamp"),
    ("loaded_at", "timestamp"),
)
PROFILE_OUTPUT = "spark"


def spark_settings(profiles_dir: Path | None = None) -> dict[str, str]:
    """The `server_side_parameters` of profiles.yml's `spark` output, rendered as dbt
    renders them (env_var look-ups with their defaults, the paths dbt_environment makes
    absolute)."""
    from dbt.config.renderer import ProfileRenderer
    from dbt_common.context import set_invocation_context

    with scoped_environment(dbt_environment("spark")):
        set_invocation_context(dict(os.environ))  # env_var() reads the environment here
    profile = yaml.safe_load(((profiles_dir or project_dir()) / "profiles.yml").read_text())
    output = profile["opsmetrics"]["outputs"][PROFILE_OUTPUT]
    rendered = ProfileRenderer({}).render_data(output["server_side_parameters"])
    return {key: str(value) for key, value in rendered.items()}


def spark_session(settings: dict[str, str] | None = None) -> Any:
    """The process's Spark session, as dbt-spark's `session` method builds it."""
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.enableHiveSupport()
    for key, value in (settings if settings is not None else spark_settings()).items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def load_spark(from_dir: Path, replace: bool = False, allow_empty: bool = False) -> dict[str, int]:
    """Load the delivery in `from_dir` into Spark's raw database; returns the rows
    inserted per contract table (0 for a table without a file or a file loaded before).

    With `replace` the delivery is a new data set: each table with a file is overwritten
    with it, after every file has been read and checked.
    """
    from py4j.protocol import Py4JError
    from pyspark.errors import PySparkException

    files = find_files(from_dir)
    stamp = load_stamp()
    try:
        with duckdb.connect() as reader, tempfile.TemporaryDirectory() as scratch:
            reader.execute("set TimeZone = 'UTC'")
            # Every file is read and checked before Spark starts: a bad delivery fails
            # in seconds and changes nothing.
            staged = _stage_files(reader, Path(scratch), files, stamp)
            try:
                spark = spark_session()
            except (PySparkException, Py4JError, OSError) as error:
                raise LoadError(
                    f"cannot start Spark ({first_line(error)}): is Java 17 installed? "
                    "(scripts/ci/ensure_java.sh)"
                ) from error
            return _load_delivery(spark, staged, files, replace, allow_empty, stamp)
    except (PySparkException, Py4JError) as error:
        raise LoadError(f"Spark: {first_line(error)}") from error
    except OSError as error:
        raise LoadError(f"{error.filename or from_dir}: {error.strerror or error}") from error


@dataclass(frozen=True)
class StagedFile:
    """One delivery file read by DuckDB and cast to the contract, as Parquet."""

    select: FileSelect
    parquet: Path
    rows: int
    sha256: str


def _stage_files(
    reader: duckdb.DuckDBPyConnection, scratch: Path, files: dict[str, Path], stamp: datetime
) -> dict[str, StagedFile]:
    staged = {}
    for name, table in raw_tables().items():
        path = files.get(name)
        if path is None:
            continue
        select = read_file(reader, table, path, stamp)
        parquet = scratch / f"{name}.parquet"
        staged[name] = StagedFile(
            select, parquet, _write_parquet(reader, select, parquet), fingerprint(path)
        )
    return staged


def _load_delivery(
    spark: Any,
    staged: dict[str, StagedFile],
    files: dict[str, Path],
    replace: bool,
    allow_empty: bool,
    stamp: datetime,
) -> dict[str, int]:
    spark.sql(f"create database if not exists {RAW_SCHEMA}")
    ledger_columns = ", ".join(f"{name} {kind}" for name, kind in LEDGER_COLUMNS)
    spark.sql(f"create table if not exists {LEDGER} ({ledger_columns}) using parquet")
    inserted = dict.fromkeys(raw_tables(), 0)
    to_apply: list[StagedFile] = []
    emptied: list[str] = []
    # The raw tables change only after every check has passed.
    for name, table in raw_tables().items():
        _align_table(spark, table)
        existing = spark.table(_target(name)).count() if replace else 0
        staged_file = staged.get(name)
        if staged_file is None:
            refuse_to_empty(name, existing, f"no file for raw.{name}", allow_empty)
            if existing:
                emptied.append(name)
            continue
        if not replace and _in_ledger(spark, name, staged_file.sha256):
            continue
        if staged_file.rows == 0:
            refuse_to_empty(name, existing, f"{files[name]} has no rows", allow_empty)
        to_apply.append(staged_file)
    for name in emptied:
        spark.sql(f"truncate table {_target(name)}")
        _forget(spark, name)
    for staged_file in to_apply:
        name = staged_file.select.table.name
        if replace:
            _forget(spark, name)
        inserted[name] = _apply(spark, staged_file.select, staged_file.parquet, replace)
        _record(
            spark,
            name,
            staged_file.sha256,
            staged_file.select,
            staged_file.rows,
            inserted[name],
            stamp,
        )
    return inserted


def _target(name: str) -> str:
    return f"{RAW_SCHEMA}.`{name}`"


def _align_table(spark: Any, table: RawTable) -> None:
    """Create the raw table, or add the contract's columns an older table lacks. Spark
    cannot change a Parquet column's type: such a table must be rebuilt (--replace after
    dropping it), and the loader says so."""
    target = _target(table.name)
    columns = ", ".join(f"`{c.name}` {SPARK_TYPES[c.data_type]}" for c in table.columns)
    spark.sql(f"create table if not exists {target} ({columns}) using parquet")
    present = {field.name: field.dataType.simpleString() for field in spark.table(target).schema}
    missing = [c for c in table.columns if c.name not in present]
    if missing:
        added = ", ".join(f"`{c.name}` {SPARK_TYPES[c.data_type]}" for c in missing)
        spark.sql(f"alter table {target} add columns ({added})")
    for column in table.columns:
        wanted = SPARK_TYPES[column.data_type]
        if column.name in present and present[column.name] != wanted:
            raise LoadError(
                f"raw.{table.name}.{column.name} is {present[column.name]} in Spark, the "
                f"contract says {wanted}: drop the table and load again with --replace"
            )


def _in_ledger(spark: Any, name: str, sha256: str) -> bool:
    found = spark.sql(
        f"select count(*) from {LEDGER} where table_name = :name and file_sha256 = :sha256",
        args={"name": name, "sha256": sha256},
    ).collect()
    return found[0][0] > 0


def _write_parquet(reader: duckdb.DuckDBPyConnection, select: FileSelect, out: Path) -> int:
    """The file's rows, cast to the contract by DuckDB, as a Parquet file Spark reads;
    returns how many there were. A value breaking the contract is a one-line error."""
    try:
        relation = reader.sql(select.sql, params=select.params)
        relation.write_parquet(str(out))
        return reader.execute(
            "select count(*) from read_parquet($path)", {"path": str(out)}
        ).fetchone()[0]
    except duckdb.Error as error:
        raise explain_error(select, error) from error


def _staged_rows(spark: Any, select: FileSelect, parquet: Path) -> Any:
    """The staged rows as a DataFrame with the contract's columns and Spark types
    (DuckDB's timestamps arrive without a zone: read in the UTC session)."""
    frame = spark.read.parquet(str(parquet))
    return frame.selectExpr(
        *(
            f"cast(`{c.name}` as {SPARK_TYPES[c.data_type]}) as `{c.name}`"
            for c in select.table.columns
        )
    )


def _apply(spark: Any, select: FileSelect, parquet: Path, replace: bool) -> int:
    """Write the staged rows into the raw table; returns the rows inserted."""
    target = _target(select.table.name)
    rows = _staged_rows(spark, select, parquet)
    if replace:
        rows.write.insertInto(target, overwrite=True)
        return spark.table(target).count()
    if select.has_loaded_at:
        # Rows without _loaded_at (quarantined by staging) can repeat too: compared alike.
        columns = ", ".join(f"`{name}`" for name in select.table.column_names)
        rows.createOrReplaceTempView("opsmetrics_load_rows")
        rows = spark.sql(
            f"select {columns} from opsmetrics_load_rows except all "
            f"select {columns} from {target} where _loaded_at is null or _loaded_at between "
            "(select min(_loaded_at) from opsmetrics_load_rows) "
            "and (select max(_loaded_at) from opsmetrics_load_rows)"
        )
    rows = rows.cache()
    count = rows.count()
    if count:
        rows.write.insertInto(target)
    rows.unpersist()
    return count


def _record(
    spark: Any,
    name: str,
    sha256: str,
    select: FileSelect,
    file_rows: int,
    rows: int,
    stamp: datetime,
) -> None:
    stamp_text = f"cast('{stamp.isoformat(sep=' ')}' as timestamp)"
    spark.sql(
        f"insert into {LEDGER} values (:name, :sha256, :file_name, :file_rows, :rows, "
        f"{'cast(null as timestamp)' if select.has_loaded_at else stamp_text}, {stamp_text})",
        args={
            "name": name,
            "sha256": sha256,
            "file_name": select.path.name,
            "file_rows": file_rows,
            "rows": rows,
        },
    )


def _forget(spark: Any, name: str) -> None:
    """Drop the ledger entries of a table whose rows are being replaced (the ledger is
    small: rewritten from the rows kept)."""
    kept = spark.table(LEDGER).where(f"table_name <> '{name}'").collect()
    frame = spark.createDataFrame(kept, spark.table(LEDGER).schema)
    frame.write.insertInto(LEDGER, overwrite=True)
