"""What a team's folder may hold: missing tables are loaded as empty with a warning,
unknown files are named, a table given twice is refused, and every load error is one
line naming the file, the line or row and the column, with exit code 2."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from conftest import copy_delivery, warehouse_state
from typer.testing import CliRunner

from opsmetrics.cli import app
from opsmetrics.contract import raw_tables
from opsmetrics.load import LoadError, LoadWarning, load_duckdb

BILLING_ONLY = ["customers", "subscriptions", "transactions", "fx_rates"]


def run_load(delivery: Path, *options: str) -> tuple[int, list[str]]:
    result = CliRunner().invoke(app, ["load", "--from", str(delivery), *options])
    return result.exit_code, result.output.strip().splitlines()


def test_a_delivery_with_only_billing_tables_loads_them_and_warns_about_the_rest(
    tiny_data_dir: Path, tiny_manifest: dict, empty_warehouse: Path, tmp_path: Path
) -> None:
    delivery = copy_delivery(tiny_data_dir, tmp_path / "billing", BILLING_ONLY)

    with pytest.warns(LoadWarning, match=r"no file for users, .*acquisition_costs, .*: treated"):
        inserted = load_duckdb(delivery)

    expected = {name: tiny_manifest["tables"][name]["rows"] for name in BILLING_ONLY}
    assert inserted == {name: expected.get(name, 0) for name in raw_tables()}
    state = warehouse_state(empty_warehouse)
    assert {name: state[f"raw.{name}"][0] for name in raw_tables()} == inserted


def test_unknown_files_are_named_in_a_warning(
    tiny_data_dir: Path, empty_warehouse: Path, tmp_path: Path
) -> None:
    delivery = copy_delivery(tiny_data_dir, tmp_path / "extra")
    (delivery / "invoices.parquet").write_bytes(b"")
    (delivery / "Customers.csv").write_text("customer_id\n")

    code, lines = run_load(delivery)

    assert code == 0
    assert f"warning: ignored {delivery / 'Customers.csv'}: not a file of the raw contract" in (
        " ".join(lines)
    )
    assert any(f"ignored {delivery / 'invoices.parquet'}" in line for line in lines)


def test_a_table_given_as_csv_and_parquet_is_refused(
    tiny_data_dir: Path, empty_warehouse: Path, tmp_path: Path
) -> None:
    delivery = copy_delivery(tiny_data_dir, tmp_path / "both")
    with duckdb.connect() as connection:
        connection.execute(
            f"copy (select * from read_parquet('{delivery / 'users.parquet'}')) "
            f"to '{delivery / 'users.csv'}' (header)"
        )

    code, lines = run_load(delivery)

    assert code == 2
    assert lines == [
        f"load failed: {delivery}: both users.csv and users.parquet are given for raw.users; "
        "keep one of them"
    ]
    assert not empty_warehouse.exists()


def test_a_malformed_csv_line_is_named(
    tiny_data_dir: Path, empty_warehouse: Path, tmp_path: Path
) -> None:
    delivery = copy_delivery(tiny_data_dir, tmp_path / "ragged")
    (delivery / "customers.parquet").unlink()
    header = ",".join(raw_tables()["customers"].column_names)
    good = "cus_1,a@example.com,Acme,FR,smb,content,2025-01-01T00:00:00Z,2025-01-02 00:00:00"
    (delivery / "customers.csv").write_text(f"{header}\n{good}\n{good},extra\n")

    code, lines = run_load(delivery)

    assert code == 2
    assert lines == [
        f"load failed: {delivery / 'customers.csv'}, line 3: Expected Number of Columns: 8 Found: 9"
    ]


def test_a_value_that_breaks_its_column_type_is_named_with_line_and_column(
    tiny_data_dir: Path, empty_warehouse: Path, tmp_path: Path
) -> None:
    delivery = copy_delivery(tiny_data_dir, tmp_path / "typed")
    with duckdb.connect() as connection:
        connection.execute(
            "copy (select * replace (case when row_number() over () = 4 then 'lots' "
            "else cast(quantity as varchar) end as quantity) "
            f"from read_parquet('{delivery / 'subscriptions.parquet'}')) "
            f"to '{delivery / 'subscriptions.csv'}' (header)"
        )
    (delivery / "subscriptions.parquet").unlink()

    code, lines = run_load(delivery)

    assert code == 2
    assert lines == [
        f"load failed: {delivery / 'subscriptions.csv'}, line 5, column quantity: 'lots' is "
        "not a whole number (contract type integer)"
    ]
    assert not any("Traceback" in line for line in lines)


def test_an_empty_folder_is_refused(empty_warehouse: Path, tmp_path: Path) -> None:
    with pytest.raises(LoadError, match="no file for any raw contract table"):
        load_duckdb(tmp_path)


def test_a_warehouse_that_cannot_be_opened_is_one_line_with_exit_code_2(
    tiny_data_dir: Path, empty_warehouse: Path
) -> None:
    empty_warehouse.mkdir(parents=True)  # a folder where the warehouse file should be

    code, lines = run_load(tiny_data_dir)

    assert code == 2
    assert len(lines) == 1
    assert lines[0].startswith(f"load failed: {empty_warehouse}: ")


def test_a_csv_saved_with_a_byte_order_mark_loads(
    tiny_data_dir: Path, empty_warehouse: Path, tmp_path: Path
) -> None:
    """Spreadsheet tools write UTF-8 with a BOM; the first column is still found."""
    delivery = copy_delivery(tiny_data_dir, tmp_path / "bom", ["fx_rates"])
    header = ",".join(raw_tables()["customers"].column_names)
    good = "cus_1,a@example.com,Acme,FR,smb,content,2025-01-01T00:00:00Z,2025-01-02 00:00:00"
    (delivery / "customers.csv").write_bytes(f"\ufeff{header}\n{good}\n".encode())

    with pytest.warns(LoadWarning, match="treated as empty"):
        inserted = load_duckdb(delivery)

    assert inserted["customers"] == 1
