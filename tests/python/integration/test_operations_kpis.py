"""The operations marts agree with an independent pandas/numpy computation on tiny data.

Inputs are the staged tables; every KPI is recomputed here from its definition in
models/marts/operations/_operations__docs.md and compared row for row.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest
from conftest import outages_from_checks

BUCKETS = {
    "fct_api_requests_5min": ("bucket_start", "5min", 300),
    "fct_api_requests_hourly": ("bucket_start", "h", 3600),
    "fct_api_requests_daily": ("request_date", "D", 86400),
}
PERCENTILES = {"p50_latency_ms": 50, "p95_latency_ms": 95, "p99_latency_ms": 99}


def staged_requests(warehouse: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return warehouse.execute(
        "select request_id, service, endpoint, status_code, response_time_ms, requested_at "
        "from staging.stg_platform__api_requests"
    ).df()


def mart(warehouse: duckdb.DuckDBPyConnection, name: str) -> pd.DataFrame:
    return warehouse.execute(f"select * from marts.{name}").df()


def numpy_percentiles(values: pd.Series) -> pd.Series:
    return pd.Series({name: np.percentile(values.to_numpy(), q) for name, q in PERCENTILES.items()})


def expected_request_kpis(requests: pd.DataFrame, keys: list[str], seconds: int) -> pd.DataFrame:
    grouped = requests.groupby(keys)
    expected = grouped.agg(
        requests=("request_id", "size"),
        server_errors=("status_code", lambda s: (s >= 500).sum()),
        client_errors=("status_code", lambda s: ((s >= 400) & (s < 500)).sum()),
        avg_latency_ms=("response_time_ms", "mean"),
    )
    expected["throughput_rps"] = expected["requests"] / seconds
    expected["error_rate_pct"] = expected["server_errors"] / expected["requests"] * 100
    expected["client_error_rate_pct"] = expected["client_errors"] / expected["requests"] * 100
    percentiles = grouped["response_time_ms"].apply(numpy_percentiles).unstack()
    return expected.join(percentiles).reset_index()


def compare(
    actual: pd.DataFrame, expected: pd.DataFrame, keys: list[str], columns: list[str]
) -> None:
    actual = actual.sort_values(keys).reset_index(drop=True)[keys + columns]
    expected = expected.sort_values(keys).reset_index(drop=True)[keys + columns]
    pd.testing.assert_frame_equal(actual, expected, check_dtype=False, rtol=1e-9, atol=1e-9)


def test_request_fact_holds_exactly_the_staged_requests(warehouse):
    fact = mart(warehouse, "fct_api_requests").set_index("request_id").sort_index()
    staged = staged_requests(warehouse).set_index("request_id").sort_index()
    assert fact.index.equals(staged.index)
    assert (fact["response_time_ms"] == staged["response_time_ms"]).all()
    assert (fact["requested_at"] == staged["requested_at"]).all()


@pytest.mark.parametrize("model", BUCKETS)
def test_request_aggregates_match_numpy_percentiles_and_pandas_rates(warehouse, model):
    bucket_column, frequency, seconds = BUCKETS[model]
    requests = staged_requests(warehouse)
    requests[bucket_column] = requests["requested_at"].dt.floor(frequency)
    expected = expected_request_kpis(requests, ["service", "endpoint", bucket_column], seconds)
    actual = mart(warehouse, model)
    actual[bucket_column] = pd.to_datetime(actual[bucket_column])
    assert len(actual) == len(expected)
    assert (actual["requests"] == 1).any(), "tiny data should include single-request buckets"
    compare(
        actual,
        expected,
        ["service", "endpoint", bucket_column],
        [
            "requests",
            "throughput_rps",
            "error_rate_pct",
            "client_error_rate_pct",
            "avg_latency_ms",
            *PERCENTILES,
        ],
    )


def slo_targets(warehouse: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return warehouse.execute("select * from seeds.slo_targets").df()


def expected_slo(frame: pd.DataFrame) -> pd.DataFrame:
    allowed = (100 - frame["availability_target_pct"]) / 100
    frame["availability_pct"] = frame["good_requests"] / frame["requests"] * 100
    frame["error_budget_requests"] = allowed * frame["requests"]
    frame["error_budget_remaining_pct"] = (
        (frame["error_budget_requests"] - frame["bad_requests"])
        / frame["error_budget_requests"]
        * 100
    )
    frame["burn_rate"] = frame["bad_requests"] / frame["requests"] / allowed
    frame["is_latency_target_met"] = frame["p95_latency_ms"] <= frame["latency_p95_target_ms"]
    return frame


SLO_COLUMNS = [
    "requests",
    "bad_requests",
    "p95_latency_ms",
    "availability_pct",
    "error_budget_requests",
    "error_budget_remaining_pct",
    "burn_rate",
    "is_latency_target_met",
]


def test_daily_slos_match_pandas_budget_burn_rate_and_numpy_p95(warehouse):
    requests = staged_requests(warehouse)
    requests["slo_date"] = requests["requested_at"].dt.floor("D")
    requests["is_bad"] = requests["status_code"] >= 500
    grouped = requests.groupby(["service", "slo_date"])
    daily = grouped.agg(requests=("request_id", "size"), bad_requests=("is_bad", "sum"))
    daily["good_requests"] = daily["requests"] - daily["bad_requests"]
    daily["p95_latency_ms"] = grouped["response_time_ms"].apply(lambda s: np.percentile(s, 95))
    expected = expected_slo(daily.reset_index().merge(slo_targets(warehouse), on="service"))
    actual = mart(warehouse, "fct_slo_daily")
    actual["slo_date"] = pd.to_datetime(actual["slo_date"])
    assert len(actual) == len(expected)
    compare(actual, expected, ["service", "slo_date"], SLO_COLUMNS)


def test_rolling_28_day_slos_take_p95_over_every_request_in_the_window(warehouse):
    requests = staged_requests(warehouse)
    requests["request_date"] = requests["requested_at"].dt.floor("D")
    requests["is_bad"] = requests["status_code"] >= 500
    targets = slo_targets(warehouse).set_index("service")
    rows = []
    for (service, end), _ in requests.groupby(["service", "request_date"]):
        days = int(targets.loc[service, "window_days"])
        start = end - pd.Timedelta(days=days - 1)
        window = requests[
            (requests["service"] == service)
            & (requests["request_date"] >= start)
            & (requests["request_date"] <= end)
        ]
        rows.append(
            {
                "service": service,
                "slo_date": end,
                "requests": len(window),
                "bad_requests": int(window["is_bad"].sum()),
                "good_requests": int((~window["is_bad"]).sum()),
                "p95_latency_ms": np.percentile(window["response_time_ms"], 95),
            }
        )
    expected = expected_slo(pd.DataFrame(rows).merge(targets.reset_index(), on="service"))
    actual = mart(warehouse, "fct_slo_rolling_28d")
    actual["slo_date"] = pd.to_datetime(actual["slo_date"])
    assert len(actual) == len(expected)
    compare(actual, expected, ["service", "slo_date"], SLO_COLUMNS)


def test_daily_uptime_and_longest_outage_match_a_walk_over_the_checks(warehouse):
    checks = warehouse.execute(
        "select check_id, service, is_up, checked_at from staging.stg_platform__health_checks"
    ).df()
    checks["check_date"] = checks["checked_at"].dt.floor("D")
    expected = (
        checks.groupby(["service", "check_date"])
        .agg(checks=("is_up", "size"), up_checks=("is_up", "sum"))
        .reset_index()
    )
    expected["uptime_pct"] = expected["up_checks"] / expected["checks"] * 100
    outages = outages_from_checks(checks)
    assert not outages.empty, "tiny data should include outages"
    outages["check_date"] = outages["started_at"].dt.floor("D")
    longest = (
        outages.groupby(["service", "check_date"])["minutes"].max().rename("longest_outage_minutes")
    )
    expected = expected.merge(longest.reset_index(), how="left", on=["service", "check_date"])
    expected["longest_outage_minutes"] = expected["longest_outage_minutes"].fillna(0.0)
    actual = mart(warehouse, "fct_service_uptime_daily")
    actual["check_date"] = pd.to_datetime(actual["check_date"])
    compare(
        actual,
        expected,
        ["service", "check_date"],
        ["checks", "up_checks", "uptime_pct", "longest_outage_minutes"],
    )


def test_hourly_resource_utilization_matches_pandas(warehouse):
    samples = warehouse.execute(
        "select service, host, metric_name, metric_value, sampled_at "
        "from staging.stg_platform__system_metrics"
    ).df()
    samples["hour_start"] = samples["sampled_at"].dt.floor("h")
    pivot = samples.pivot_table(
        index=["service", "host", "hour_start"],
        columns="metric_name",
        values="metric_value",
        aggfunc=["mean", "max"],
    )
    expected = pd.DataFrame(
        {
            "avg_cpu_utilization_pct": pivot[("mean", "cpu_utilization")],
            "max_cpu_utilization_pct": pivot[("max", "cpu_utilization")],
            "avg_memory_utilization_pct": pivot[("mean", "memory_utilization")],
            "max_memory_utilization_pct": pivot[("max", "memory_utilization")],
            "max_queue_depth": pivot[("max", "queue_depth")],
            "max_active_connections": pivot[("max", "active_connections")],
        }
    ).reset_index()
    actual = mart(warehouse, "fct_resource_utilization_hourly")
    actual["hour_start"] = pd.to_datetime(actual["hour_start"])
    assert len(actual) == len(expected)
    compare(actual, expected, ["service", "host", "hour_start"], list(expected.columns[3:]))
