"""The raw-data generator: contract shape, determinism, defects and realistic behaviour."""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import END_DATE, DataSet

from opsmetrics.contract import raw_tables
from opsmetrics.generate import generate
from opsmetrics.synth.writer import _write_in_chunks

ARROW_TYPES = {
    "varchar": "string",
    "integer": "int64",
    "double": "double",
    "boolean": "bool",
    "timestamp": "timestamp[us]",
}
NATURAL_KEYS = {
    "customers": ("customer_id",),
    "users": ("user_id",),
    "subscriptions": ("subscription_id", "valid_from"),
    "transactions": ("transaction_id",),
    "fx_rates": ("rate_date", "currency"),
    "acquisition_costs": ("cost_date", "category", "channel", "campaign"),
    "events": ("event_id",),
    "survey_responses": ("response_id",),
    "api_requests": ("request_id",),
    "health_checks": ("check_id",),
    "system_metrics": ("host", "metric_name", "sampled_at"),
    "scaling_events": ("event_id",),
    "manual_metrics": ("metric_name", "period_start"),
}
MAIN_TIME = {
    "customers": "signed_up_at",
    "users": "created_at",
    "subscriptions": "valid_from",
    "transactions": "created_at",
    "events": "occurred_at",
    "survey_responses": "submitted_at",
    "api_requests": "requested_at",
    "health_checks": "checked_at",
    "system_metrics": "sampled_at",
    "scaling_events": "triggered_at",
}
ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?(Z|[+-]\d{2}:\d{2})$")
END_OF_HISTORY = "timestamp '2025-07-01 00:00:00'"


def _rows(data: DataSet, table: str) -> list[dict]:
    return pq.read_table(data.out / f"{table}.parquet").to_pylist()


def test_same_seed_gives_identical_tables(dirty: DataSet, make_data) -> None:
    again = make_data()
    assert again.manifest == dirty.manifest
    for table in raw_tables():
        first = pq.read_table(dirty.out / f"{table}.parquet")
        second = pq.read_table(again.out / f"{table}.parquet")
        # pandas' equals treats NaN (a planted non_finite_number) as equal to itself
        assert first.schema == second.schema, table
        assert first.to_pandas().equals(second.to_pandas()), table


def test_different_seed_gives_different_data(dirty: DataSet, make_data) -> None:
    other = make_data(seed=8)
    for table in ("customers", "subscriptions", "events", "api_requests"):
        first = pq.read_table(dirty.out / f"{table}.parquet")
        second = pq.read_table(other.out / f"{table}.parquet")
        assert not first.equals(second), table


def test_every_contract_table_is_written_with_contract_columns_and_types(dirty: DataSet) -> None:
    for name, table in raw_tables().items():
        schema = pq.read_schema(dirty.out / f"{name}.parquet")
        assert schema.names == table.column_names, name
        expected = [ARROW_TYPES[c.data_type] for c in table.columns]
        assert [str(t) for t in schema.types] == expected, name


def test_manifest_is_written_and_describes_the_run(dirty: DataSet) -> None:
    on_disk = json.loads((dirty.out / "manifest.json").read_text())
    assert on_disk == dirty.manifest
    assert on_disk["scale"] == "tiny"
    assert on_disk["end_date"] == END_DATE.isoformat()
    assert list(on_disk["tables"]) == list(raw_tables())


def test_tiny_scale_stays_small(dirty: DataSet) -> None:
    rows = {name: t["rows"] for name, t in dirty.manifest["tables"].items()}
    assert 60 <= rows["customers"] <= 90
    assert rows["events"] <= 20_000
    assert rows["api_requests"] <= 30_000
    assert rows["health_checks"] <= 20_000
    assert rows["system_metrics"] <= 20_000


def test_zero_defect_rate_injects_no_defects_and_keeps_natural_keys_unique(clean: DataSet) -> None:
    for name, table in clean.manifest["tables"].items():
        assert set(table["defects"].values()) == {0}, name
        key = ", ".join(NATURAL_KEYS[name])
        total, distinct = clean.query(f"select count(*), count(distinct ({key})) from {name}")[0]
        assert total == distinct == table["rows"], name


def test_every_defect_class_appears_at_tiny_scale(dirty: DataSet) -> None:
    for name, table in dirty.manifest["tables"].items():
        assert table["defects"], name
        assert min(table["defects"].values()) >= 1, name
    assert set(dirty.manifest["tables"]["fx_rates"]["defects"]) == {
        "exact_duplicate",
        "resent_row",
        "tied_duplicate",
        "missing_loaded_at",
        "unparseable_timestamp",
        "non_finite_number",
        "implausible_value",
        "unknown_currency",
    }


def test_manifest_row_counts_match_the_files(dirty: DataSet) -> None:
    for name, table in dirty.manifest["tables"].items():
        assert dirty.scalar(f"select count(*) from {name}") == table["rows"], name


def test_duplicate_counts_match_rows_minus_distinct_keys(dirty: DataSet) -> None:
    for name, table in dirty.manifest["tables"].items():
        key = ", ".join(NATURAL_KEYS[name])
        total, keys, full = dirty.query(
            f"select count(*), count(distinct ({key})), "
            f"(select count(*) from (select distinct * from {name})) from {name}"
        )[0]
        defects = table["defects"]
        copies = ("exact_duplicate", "resent_row", "tied_duplicate", "resent_invalid_row")
        assert total - keys == sum(defects.get(c, 0) for c in copies), name
        assert total - full == defects["exact_duplicate"], name


def test_unknown_currency_count_matches_rows_with_placeholder_codes(dirty: DataSet) -> None:
    for name in ("subscriptions", "transactions", "acquisition_costs", "fx_rates"):
        found = dirty.scalar(f"select count(*) from {name} where currency in ('XXX', 'ZZZ', 'XTS')")
        assert found == dirty.manifest["tables"][name]["defects"]["unknown_currency"], name


def test_row_level_defects_of_issue_12_match_the_manifest(dirty: DataSet) -> None:
    """Non-finite numbers, implausible values, missing _loaded_at, tied copies, re-sent
    invalid customers and price-free cancellations: counted in the files as planted."""
    for name, column in (
        ("subscriptions", "unit_amount, discount_percent"),
        ("transactions", "amount"),
        ("fx_rates", "rate_to_usd"),
        ("acquisition_costs", "amount"),
        ("api_requests", "response_time_ms"),
        ("health_checks", "response_time_ms"),
        ("system_metrics", "value"),
    ):
        checks = " or ".join(f"not isfinite({c.strip()})" for c in column.split(","))
        found = dirty.scalar(f"select count(*) from {name} where {checks}")
        assert found == dirty.manifest["tables"][name]["defects"]["non_finite_number"], name
    for name in dirty.manifest["tables"]:
        found = dirty.scalar(f"select count(*) from {name} where _loaded_at is null")
        assert found == dirty.manifest["tables"][name]["defects"]["missing_loaded_at"], name
    implausible = {
        "subscriptions": "quantity >= 1e12",
        "api_requests": "isfinite(response_time_ms) and response_time_ms >= 1e9",
        "health_checks": "isfinite(response_time_ms) and response_time_ms >= 1e9",
        "system_metrics": "metric_name = 'queue_depth' and isfinite(value) and value >= 1e12",
    }
    for name, condition in implausible.items():
        found = dirty.scalar(f"select count(*) from {name} where {condition}")
        assert found == dirty.manifest["tables"][name]["defects"]["implausible_value"], name
    tied = dirty.scalar(
        "select count(*) from (select request_id, _loaded_at from api_requests "
        "group by all having count(distinct service) > 1)"
    )
    assert tied == dirty.manifest["tables"]["api_requests"]["defects"]["tied_duplicate"]
    assert (
        dirty.scalar("select count(*) from customers where segment = 'giant'")
        == (dirty.manifest["tables"]["customers"]["defects"]["resent_invalid_row"])
    )
    assert (
        dirty.scalar(
            "select count(*) from subscriptions where status = 'canceled' and (quantity is null "
            "or unit_amount is null or discount_percent is null or currency is null)"
        )
        == (dirty.manifest["tables"]["subscriptions"]["defects"]["canceled_without_price"])
    )


def test_invalid_amount_count_matches_negative_or_absurd_money(dirty: DataSet) -> None:
    for name, column in (
        ("subscriptions", "unit_amount"),
        ("transactions", "amount"),
        ("acquisition_costs", "amount"),
    ):
        found = dirty.scalar(
            f"select count(*) from {name} "
            f"where isfinite({column}) and ({column} < 0 or {column} > 1000000000)"
        )
        assert found == dirty.manifest["tables"][name]["defects"]["invalid_amount"], name


def test_malformed_json_and_orphans_match_the_manifest(dirty: DataSet) -> None:
    events = dirty.manifest["tables"]["events"]["defects"]
    assert (
        dirty.scalar("select count(*) from events where not json_valid(properties)")
        == (events["malformed_json"])
    )
    assert (
        dirty.scalar("select count(*) from events where user_id not in (select user_id from users)")
        == events["orphan_foreign_key"]
    )
    for name in ("users", "subscriptions", "transactions", "survey_responses"):
        found = dirty.scalar(
            f"select count(*) from {name} "
            "where customer_id not in (select customer_id from customers)"
        )
        assert found == dirty.manifest["tables"][name]["defects"]["orphan_foreign_key"], name


def test_out_of_range_survey_scores_match_the_manifest(dirty: DataSet) -> None:
    found = dirty.scalar(
        "select count(*) from survey_responses where (survey_type = 'nps' and score not between "
        "0 and 10) or (survey_type = 'csat' and score not between 1 and 5)"
    )
    assert found == dirty.manifest["tables"]["survey_responses"]["defects"]["out_of_range_value"]


def test_timestamps_parse_and_carry_utc_offsets(clean: DataSet) -> None:
    offsets = set()
    for table, column in MAIN_TIME.items():
        for row in _rows(clean, table):
            text = row[column]
            assert ISO.match(text), (table, text)
            offsets.add(datetime.fromisoformat(text).utcoffset())
    assert len(offsets) >= 5
    for table, column in (("fx_rates", "rate_date"), ("acquisition_costs", "cost_date")):
        for row in _rows(clean, table):
            date.fromisoformat(row[column])


def test_clean_rows_happen_before_they_are_loaded_and_within_history(clean: DataSet) -> None:
    for table, column in MAIN_TIME.items():
        late, after_end = clean.query(
            f"select count(*) filter (where cast({column} as timestamptz) at time zone 'UTC' "
            f"> _loaded_at), count(*) filter (where _loaded_at > {END_OF_HISTORY}) from {table}"
        )[0]
        assert (late, after_end) == (0, 0), table
    assert (
        clean.scalar(
            "select count(*) from events where cast(received_at as timestamptz) "
            "< cast(occurred_at as timestamptz)"
        )
        == 0
    )


def test_some_rows_arrive_days_late(clean: DataSet) -> None:
    for table, column in (("events", "occurred_at"), ("api_requests", "requested_at")):
        share = clean.scalar(
            f"select avg(case when _loaded_at - (cast({column} as timestamptz) at time zone 'UTC')"
            f" > interval 1 day then 1 else 0 end) from {table}"
        )
        assert 0.003 < share < 0.05, table


def _subscription_versions(data: DataSet) -> list[tuple]:
    return data.query(
        """
        with versions as (
            select *, cast(valid_from as timestamptz) as starts,
                lag(status) over w as previous_status,
                lag(quantity) over w as previous_quantity,
                lag(plan_id) over w as previous_plan
            from subscriptions
            window w as (partition by subscription_id order by cast(valid_from as timestamptz))
        )
        select
            count(*) filter (where previous_status = 'trialing' and status = 'active'),
            count(*) filter (where previous_status = 'trialing' and status = 'canceled'),
            count(*) filter (where previous_status = 'active' and status = 'active'
                and (quantity > previous_quantity or plan_id > previous_plan)),
            count(*) filter (where previous_status = 'active' and status = 'active'
                and (quantity < previous_quantity or plan_id < previous_plan)),
            count(*) filter (where status = 'paused'),
            count(*) filter (where previous_status = 'canceled' and status = 'active'),
            count(*) filter (where previous_status is null and status = 'active'),
            count(*) filter (where status = 'past_due'),
            count(*) filter (where billing_interval = 'year'),
            count(*) filter (where billing_interval = 'quarter'),
            count(*) filter (where currency <> 'USD')
        from versions
        """
    )[0]


def test_tiny_subscriptions_show_every_lifecycle_behaviour(clean: DataSet) -> None:
    counts = _subscription_versions(clean)
    labels = (
        "converted trial", "lost trial", "upgrade", "downgrade", "pause", "reactivation",
        "subscription started active", "past due", "annual", "quarterly", "non-USD",
    )  # fmt: skip
    assert all(counts), dict(zip(labels, counts, strict=True))


def test_some_customers_hold_two_overlapping_subscriptions(clean: DataSet) -> None:
    assert clean.scalar(
        "select count(*) from (select customer_id from subscriptions "
        "group by customer_id having count(distinct subscription_id) > 1)"
    )


def test_charges_follow_subscriptions(clean: DataSet) -> None:
    kinds = dict(
        clean.query(
            "select type || '/' || status || '/' || (subscription_id is null), count(*) "
            "from transactions group by all"
        )
    )
    assert kinds.get("charge/succeeded/false")
    assert kinds.get("charge/failed/false")
    assert kinds.get("refund/succeeded/false")
    assert kinds.get("charge/succeeded/true")


def test_fx_rates_cover_every_currency_from_the_first_day(clean: DataSet) -> None:
    first_day, used_without_rate = clean.query(
        """
        select (select cast(min(rate_date) as date) from fx_rates) <= (
                select min(cast(cast(signed_up_at as timestamptz) at time zone 'UTC' as date))
                from customers),
            (select count(*) from (
                select currency from subscriptions where currency <> 'USD'
                union select currency from transactions where currency <> 'USD'
                union select currency from acquisition_costs where currency <> 'USD'
            ) used where currency not in (
                select currency from fx_rates
                where rate_date = (select min(rate_date) from fx_rates)))
        """
    )[0]
    assert first_day
    assert used_without_rate == 0
    assert clean.scalar("select count(*) from fx_rates where currency = 'USD'") == 0


def test_anonymous_visitors_are_identified_with_earlier_events(clean: DataSet) -> None:
    stitched = clean.scalar(
        """
        with identified as (
            select anonymous_id, min(cast(occurred_at as timestamptz)) as identified_at
            from events where user_id is not null group by anonymous_id
        )
        select count(distinct e.anonymous_id) from events e join identified i using (anonymous_id)
        where e.user_id is null and cast(e.occurred_at as timestamptz) < i.identified_at
        """
    )
    assert stitched > 10
    names = {row[0] for row in clean.query("select distinct event_name from events")}
    assert {"page_viewed", "user_signed_up", "feature_report_created"} <= names
    assert all(re.fullmatch(r"[a-z]+(_[a-z]+)+", name) for name in names)


def test_health_checks_show_an_outage_also_seen_in_api_errors(clean: DataSet) -> None:
    outage = clean.query(
        "select service, min(cast(checked_at as timestamptz)), max(cast(checked_at as timestamptz))"
        " from health_checks where not is_up group by service"
    )
    assert outage
    service, start, end = outage[0]
    errors = clean.scalar(
        f"select count(*) from api_requests where service = '{service}' and status_code = 503 "
        f"and cast(requested_at as timestamptz) between '{start}' and '{end}'"
    )
    assert errors > 0


def test_low_nps_customers_churn_more(make_data) -> None:
    data = make_data(scale="small", defect_rate=0.0)
    churned, stayed = data.query(
        """
        with last_status as (
            select customer_id, arg_max(status, cast(valid_from as timestamptz)) as status
            from subscriptions group by customer_id
        ), nps as (
            select customer_id, avg(score) as score from survey_responses
            where survey_type = 'nps' group by customer_id
        )
        select avg(score) filter (where status = 'canceled'),
            avg(score) filter (where status <> 'canceled')
        from nps join last_status using (customer_id)
        """
    )[0]
    assert churned < stayed - 1


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"scale": "huge"}, "unknown scale 'huge'"),
        ({"defect_rate": 0.7}, "defect_rate must be between 0 and 0.5"),
        ({"defect_rate": -0.1}, "defect_rate must be between 0 and 0.5"),
        ({"seed": -1}, "seed must be a non-negative integer"),
    ],
)
def test_bad_arguments_raise_clear_errors(tmp_path: Path, arguments: dict, message: str) -> None:
    base = {"scale": "tiny", "seed": 1, "out": tmp_path, "end_date": END_DATE}
    with pytest.raises(ValueError, match=re.escape(message)):
        generate(**{**base, **arguments})
    assert not list(tmp_path.iterdir())


def test_a_table_written_in_chunks_holds_the_rows_of_one_chunk(tmp_path: Path) -> None:
    """Big tables are formatted and written a chunk at a time (peak memory); the rows, their
    order and the file's schema do not depend on the chunk size."""
    base = pa.table(
        {"_id": np.arange(10), "_ts": np.arange(10, dtype=np.int64).view("datetime64[us]")}
    )
    select = (
        "select printf('req_%04d', _id) as request_id, "
        "case when _id % 4 = 0 then null else _id * 1.5 end as value, _ts as at from base"
    )
    _write_in_chunks(base, select, tmp_path / "one.parquet", chunk_rows=100)
    _write_in_chunks(base, select, tmp_path / "chunks.parquet", chunk_rows=3)
    _write_in_chunks(base.slice(0, 0), select, tmp_path / "empty.parquet", chunk_rows=3)

    one = pq.read_table(tmp_path / "one.parquet")
    chunks = pq.read_table(tmp_path / "chunks.parquet")
    assert chunks.equals(one)
    assert one.num_rows == 10
    assert pq.ParquetFile(tmp_path / "chunks.parquet").metadata.num_row_groups == 4
    empty = pq.read_table(tmp_path / "empty.parquet")
    assert empty.num_rows == 0
    assert empty.schema.equals(one.schema)
