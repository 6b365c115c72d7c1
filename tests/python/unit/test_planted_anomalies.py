"""The generator's planted anomalies are in manifest.json with exact windows, and the
data shows each one inside its window (and not outside)."""

from __future__ import annotations

from datetime import datetime

from conftest import DataSet

KINDS = {
    "outage", "error_burst", "latency_spike",
    "revenue_drop", "signup_dip", "host_running_hot", "churn_spike_month",
}  # fmt: skip


def window(dataset: DataSet, kind: str) -> dict:
    (entry,) = [e for e in dataset.manifest["planted_anomalies"] if e["kind"] == kind]
    return entry


def ts(text: str) -> str:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).strftime("%Y-%m-%d %H:%M:%S")


def test_every_planted_kind_is_in_the_manifest_with_a_window(clean: DataSet) -> None:
    planted = clean.manifest["planted_anomalies"]
    assert {entry["kind"] for entry in planted} == KINDS
    for entry in planted:
        assert entry["start"] < entry["end"] and entry["metrics"]
        assert entry["start"] >= "2025-01-01" and entry["end"] <= "2025-07-01T00:00:00Z"


def test_revenue_drop_fails_most_charges_of_its_day_only(clean: DataSet) -> None:
    day = window(clean, "revenue_drop")["start"][:10]
    shares = clean.query(
        "select cast(cast(created_at as timestamptz) at time zone 'UTC' as date) = "
        f"'{day}' as planted, avg(case when status = 'failed' then 1.0 else 0 end) "
        "from transactions where type = 'charge' and subscription_id is not null group by 1"
    )
    by_day = dict(shares)
    assert by_day[True] > 0.6 and by_day[False] < 0.2


def test_signup_dip_leaves_the_blocked_days_without_sign_ups(clean: DataSet) -> None:
    dip = window(clean, "signup_dip")
    inside = clean.scalar(
        "select count(*) from customers where cast(signed_up_at as timestamptz) "
        f"between '{dip['start']}' and cast('{dip['end']}' as timestamptz) - interval 1 second"
    )
    catch_up = clean.scalar(
        "select count(*) from customers where cast(signed_up_at as timestamptz) "
        f">= '{dip['end']}' and cast(signed_up_at as timestamptz) "
        f"< cast('{dip['end']}' as timestamptz) + interval 3 day"
    )
    assert inside == 0 and catch_up > 0


def test_host_running_hot_raises_one_hosts_cpu_in_its_window(clean: DataSet) -> None:
    hot = window(clean, "host_running_hot")
    inside, outside = clean.query(
        "select avg(case when t between ts_start and ts_end then value end), "
        "avg(case when t not between ts_start and ts_end then value end) "
        "from (select value, cast(sampled_at as timestamptz) as t, "
        f"cast('{hot['start']}' as timestamptz) as ts_start, "
        f"cast('{hot['end']}' as timestamptz) - interval 1 second as ts_end "
        f"from system_metrics where host = '{hot['slice_value']}' "
        "and metric_name = 'cpu_utilization')"
    )[0]
    assert inside > outside + 15


def test_churn_spike_month_cancels_far_more_than_other_months(clean: DataSet) -> None:
    spike = window(clean, "churn_spike_month")
    counts = dict(
        clean.query(
            "select date_trunc('month', cast(valid_from as timestamptz) at time zone 'UTC') "
            f"= cast('{ts(spike['start'])}' as timestamp), count(*) / "
            "count(distinct date_trunc('month', cast(valid_from as timestamptz))) "
            "from (select *, lag(status) over (partition by subscription_id "
            "order by cast(valid_from as timestamptz)) as previous from subscriptions) "
            "where status = 'canceled' and previous = 'active' "
            "and cast(valid_from as timestamptz) >= '2025-01-01' group by 1"
        )
    )
    assert counts[True] > 2 * counts[False]


def test_transaction_ids_stay_unique_after_churned_charges_are_removed(clean: DataSet) -> None:
    rows, ids = clean.query("select count(*), count(distinct transaction_id) from transactions")[0]
    assert rows == ids
