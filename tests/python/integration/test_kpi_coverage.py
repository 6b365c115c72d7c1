"""Issue 16's KPIs: MetricFlow's answers (and the new marts) equal an independent pandas
computation from staging (or from marts already checked against staging elsewhere).

Every `mf` call runs in a subprocess before any test opens the warehouse (one writer)."""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from conftest import assert_close, outages_from_checks, run_on_warehouse

from opsmetrics.dbt_invoke import run_dbt

BIN = Path(sys.executable).parent
TARGET_SECONDS = 30
QUERIES = {
    "quarterly": ("revenue_growth_qoq,arr_growth_qoq,market_share_pct", "metric_time__quarter"),
    "monthly": (
        "revenue_growth_mom,customer_retention_rate,customer_retention_rate_t12m,"
        "logo_churn_rate,incidents,mttr_minutes,mttd_minutes,availability_lost_per_incident_pct",
        "metric_time__month",
    ),
    "retention_by_segment": ("customer_retention_rate", "metric_time__month,customer__segment"),
    "weekly_adoption": ("feature_adoption_rate_weekly", "metric_time__week,feature_week__feature"),
    "scaling": (
        "scale_up_response_p50_seconds,scale_up_response_p95_seconds,"
        "scale_ups_within_target_pct,under_provisioned_minutes",
        "metric_time__day,service",
    ),
    "load": (
        "queue_depth_avg,queue_depth_max,active_connections_avg,active_connections_max",
        "metric_time__day,service,host_hour__host",
    ),
}


@pytest.fixture(scope="module")
def semantic(tiny_metric_tables: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The `mf query` answers the tests need, on the tiny warehouse with its metric tables
    exported (the session's one export)."""
    run_dbt(["parse"])
    out = tmp_path_factory.mktemp("mf16")
    results = {}
    for name, (metrics, group_by) in QUERIES.items():
        csv = out / f"{name}.csv"
        command = [str(BIN / "mf"), "query", "--metrics", metrics, "--group-by", group_by]
        run_on_warehouse([*command, "--csv", str(csv)], tiny_metric_tables)
        frame = pd.read_csv(csv)
        for column in frame.columns:
            if column.startswith("metric_time__"):
                frame[column] = pd.to_datetime(frame[column])
        results[name] = frame
    return results


def _df(connection: duckdb.DuckDBPyConnection, sql: str) -> pd.DataFrame:
    return connection.execute(sql).df()


def _growth(values: pd.Series) -> pd.Series:
    previous = values.shift(1)
    return ((values - previous) * 100 / previous.where(previous != 0)).dropna()


def _revenue_by_day(warehouse: duckdb.DuckDBPyConnection) -> pd.Series:
    transactions = _df(
        warehouse,
        "select transaction_type, amount, created_at from staging.stg_billing__transactions"
        " where status = 'succeeded'",
    )
    sign = np.where(transactions["transaction_type"] == "refund", -1.0, 1.0)
    transactions["signed"] = transactions["amount"].astype(float) * sign
    return transactions.groupby(transactions["created_at"].dt.normalize())["signed"].sum()


def test_revenue_growth_mom_and_qoq_equal_period_over_period_revenue(semantic, warehouse):
    revenue = _revenue_by_day(warehouse)
    calendar = pd.date_range(revenue.index.min(), revenue.index.max(), freq="D")
    revenue = revenue.reindex(calendar, fill_value=0.0)
    for frame, column, freq, time in (
        ("monthly", "revenue_growth_mom", "MS", "metric_time__month"),
        ("quarterly", "revenue_growth_qoq", "QS", "metric_time__quarter"),
    ):
        expected = _growth(revenue.resample(freq).sum())
        actual = semantic[frame].set_index(time)[column].dropna()
        assert len(expected) >= 1
        assert_close(actual, expected, rtol=1e-6, atol=1e-6)


def _quarter_end_mrr(warehouse: duckdb.DuckDBPyConnection) -> pd.Series:
    daily = _df(warehouse, "select mrr_date, mrr_amount from marts.fct_mrr_daily")
    daily["quarter"] = pd.to_datetime(daily["mrr_date"]).dt.to_period("Q").dt.to_timestamp()
    last = daily.sort_values("mrr_date").groupby("quarter").last()
    return last["mrr_amount"].astype(float)


def test_arr_growth_qoq_compares_quarter_end_arr(semantic, warehouse):
    mrr = _quarter_end_mrr(warehouse)
    expected = _growth(mrr[mrr > 0]).reindex(mrr.index).dropna()
    actual = semantic["quarterly"].set_index("metric_time__quarter")["arr_growth_qoq"].dropna()
    assert len(expected) >= 1
    assert_close(actual, expected, rtol=1e-6, atol=1e-6)


def test_market_share_is_quarter_end_arr_over_the_entered_market_size(semantic, warehouse):
    mrr = _quarter_end_mrr(warehouse)
    arr = mrr[mrr > 0] * 12  # no ARR (null, like MetricFlow's) before the first payment
    sizes = _df(
        warehouse,
        "select period_start_date, value from staging.stg_manual__manual_metrics"
        " where metric_name = 'market_size'",
    )
    sizes["quarter"] = pd.to_datetime(sizes["period_start_date"]).dt.to_period("Q")
    size = sizes.set_index(sizes["quarter"].dt.to_timestamp())["value"]
    expected = (arr * 100 / size).dropna()
    actual = semantic["quarterly"].set_index("metric_time__quarter")["market_share_pct"]
    assert len(expected) >= 2
    assert_close(actual.dropna(), expected, rtol=1e-6, atol=1e-6)
    without_input = arr.index.difference(size.index)
    assert actual.reindex(without_input).isna().all()


def _month_end_active(warehouse: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Months x customers: active (MRR > 0) at the end of the month's last measured day."""
    daily = _df(
        warehouse, "select customer_id, mrr_date, is_active from marts.fct_customer_mrr_daily"
    )
    daily["month"] = pd.to_datetime(daily["mrr_date"]).dt.to_period("M").dt.to_timestamp()
    measured = daily.groupby("month")["mrr_date"].transform("max")
    ends = daily[daily["mrr_date"] == measured]
    wide = ends.pivot(index="month", columns="customer_id", values="is_active")
    return wide.fillna(False).astype(bool).sort_index()


def _retention(active: pd.DataFrame, lag: int) -> pd.Series:
    start = active.shift(lag, fill_value=False)
    kept = (start & active).sum(axis=1)
    return (kept * 100 / start.sum(axis=1).where(lambda s: s > 0)).dropna()


def test_customer_retention_monthly_t12m_and_by_segment(semantic, warehouse):
    active = _month_end_active(warehouse)
    monthly = semantic["monthly"].set_index("metric_time__month")
    assert_close(monthly["customer_retention_rate"].dropna(), _retention(active, 1))
    assert_close(
        monthly["customer_retention_rate"].dropna(),
        100 - monthly["logo_churn_rate"].dropna(),
    )
    t12m = _retention(active, 12)
    if len(t12m):
        assert_close(monthly["customer_retention_rate_t12m"].dropna(), t12m)
    else:
        assert monthly["customer_retention_rate_t12m"].isna().all()

    segments = _df(warehouse, "select customer_id, segment from staging.stg_app__customers")
    segment_of = segments.set_index("customer_id")["segment"]
    by_segment = semantic["retention_by_segment"].set_index(
        ["metric_time__month", "customer__segment"]
    )["customer_retention_rate"]
    expected = {}
    for segment, members in segment_of.groupby(segment_of):
        columns = active.columns.intersection(members.index)
        for month, value in _retention(active[columns], 1).items():
            expected[(month, segment)] = value
    expected = pd.Series(expected)
    expected.index.names = by_segment.index.names
    assert expected.index.get_level_values(1).nunique() >= 2
    assert_close(by_segment.dropna(), expected)


def test_weekly_feature_adoption_uses_iso_weeks_and_week_end_customers(semantic, warehouse):
    events = _df(
        warehouse,
        "select distinct feature_name, customer_id, occurred_date from marts.fct_events"
        " where feature_name is not null and customer_id is not null",
    )
    days = pd.to_datetime(events["occurred_date"])
    events["week"] = days - pd.to_timedelta(days.dt.day_of_week, unit="D")
    daily = _df(
        warehouse, "select customer_id, mrr_date, is_active from marts.fct_customer_mrr_daily"
    )
    mrr_days = pd.to_datetime(daily["mrr_date"])
    daily["week"] = mrr_days - pd.to_timedelta(mrr_days.dt.day_of_week, unit="D")
    measured = daily.groupby("week")["mrr_date"].transform("max")
    active = daily[(daily["mrr_date"] == measured) & daily["is_active"]][["week", "customer_id"]]
    weeks = active[active["week"].between(events["week"].min(), events["week"].max())]
    expected = {}
    for feature in events["feature_name"].unique():
        used = events[events["feature_name"] == feature][["week", "customer_id"]].drop_duplicates()
        adopting = weeks.merge(used, on=["week", "customer_id"]).groupby("week").size()
        counts = weeks.groupby("week").size()
        for week, total in counts.items():
            expected[(week, feature)] = adopting.get(week, 0) / total
    expected = pd.Series(expected)
    actual = semantic["weekly_adoption"].set_index(["metric_time__week", "feature_week__feature"])
    expected.index.names = actual.index.names
    assert (actual.index.get_level_values(0).day_of_week == 0).all()
    assert (expected > 0).any()
    assert_close(actual["feature_adoption_rate_weekly"], expected)


def _scaling_events(warehouse: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    events = _df(warehouse, "select * from staging.stg_platform__scaling_events")
    events["seconds"] = (events["capacity_ready_at"] - events["triggered_at"]).dt.total_seconds()
    events["day"] = events["triggered_at"].dt.normalize()
    return events


def _under_provisioned(ups: pd.DataFrame) -> pd.Series:
    """Per scale-up, the seconds of its wait not covered by an earlier pending one."""
    seconds = {}
    for _, service_ups in ups.groupby("service"):
        covered_until = None
        for row in service_ups.sort_values(["triggered_at", "event_id"]).itertuples():
            start = (
                row.triggered_at if covered_until is None else max(row.triggered_at, covered_until)
            )
            seconds[row.event_id] = max((row.capacity_ready_at - start).total_seconds(), 0.0)
            covered_until = (
                row.capacity_ready_at
                if covered_until is None
                else max(covered_until, row.capacity_ready_at)
            )
    return pd.Series(seconds)


def test_scaling_efficiency_metrics_equal_the_staged_events(semantic, warehouse):
    events = _scaling_events(warehouse)
    ups = events[events["direction"] == "up"].copy()
    ups["under"] = ups["event_id"].map(_under_provisioned(ups))
    grouped = ups.groupby(["day", "service"])
    expected = pd.DataFrame(
        {
            "scale_up_response_p50_seconds": grouped["seconds"].apply(
                lambda s: np.percentile(s, 50)
            ),
            "scale_up_response_p95_seconds": grouped["seconds"].apply(
                lambda s: np.percentile(s, 95)
            ),
            "scale_ups_within_target_pct": grouped["seconds"].apply(
                lambda s: (s <= TARGET_SECONDS).mean() * 100
            ),
            "under_provisioned_minutes": grouped["under"].sum() / 60,
        }
    )
    actual = semantic["scaling"].set_index(["metric_time__day", "service"])
    actual = actual.dropna(subset=["scale_up_response_p50_seconds"])
    expected.index.names = actual.index.names
    assert (expected["scale_ups_within_target_pct"] < 100).any()
    for column in expected.columns:
        assert_close(actual[column], expected[column], rtol=1e-6, atol=1e-6)


def test_slow_scale_ups_are_exactly_the_planted_ones(warehouse, tiny_manifest):
    events = _scaling_events(warehouse)
    late = set(
        events[(events["direction"] == "up") & (events["seconds"] > TARGET_SECONDS)]["event_id"]
    )
    planted = set(tiny_manifest["planted"]["slow_scale_ups"]) & set(events["event_id"])
    assert planted, "the generator plants slow scale-ups"
    assert late == planted
    mart = _df(
        warehouse, "select event_id from marts.fct_scaling_events where not is_within_target"
    )
    assert set(mart["event_id"]) == planted


def test_queue_depth_and_connections_per_host_and_day(semantic, warehouse):
    samples = _df(
        warehouse,
        "select host, service, metric_name, metric_value, sampled_at"
        " from staging.stg_platform__system_metrics"
        " where metric_name in ('queue_depth', 'active_connections')",
    )
    samples["day"] = samples["sampled_at"].dt.normalize()
    wide = samples.groupby(["day", "service", "host", "metric_name"])["metric_value"].agg(
        ["mean", "max"]
    )
    actual = semantic["load"].set_index(["metric_time__day", "service", "host_hour__host"])
    for metric, prefix in (
        ("queue_depth", "queue_depth"),
        ("active_connections", "active_connections"),
    ):
        expected = wide.xs(metric, level="metric_name")
        expected.index.names = actual.index.names
        assert_close(actual[f"{prefix}_avg"].dropna(), expected["mean"])
        assert_close(actual[f"{prefix}_max"].dropna(), expected["max"])


def _incidents(warehouse: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    incidents = outages_from_checks(
        _df(
            warehouse,
            "select check_id, service, is_up, checked_at from staging.stg_platform__health_checks",
        )
    )
    incidents["month"] = incidents["started_at"].dt.to_period("M").dt.to_timestamp()
    incidents["lost"] = (
        incidents["minutes"] * 100 / (incidents["started_at"].dt.days_in_month * 1440)
    )
    return incidents


def test_incident_metrics_equal_the_outages_recomputed_from_health_checks(semantic, warehouse):
    incidents = _incidents(warehouse)
    by_month = incidents.groupby("month")
    actual = semantic["monthly"].set_index("metric_time__month")
    assert len(incidents) >= 2
    assert_close(actual["incidents"].dropna(), by_month.size().astype(float))
    assert_close(actual["mttr_minutes"].dropna(), by_month["minutes"].mean())
    assert_close(actual["mttd_minutes"].dropna(), by_month["delay_minutes"].mean().dropna())
    assert_close(actual["availability_lost_per_incident_pct"].dropna(), by_month["lost"].mean())
    mart = _df(warehouse, "select count(*) as n from marts.fct_incidents")
    outages = _df(warehouse, "select count(*) as n from intermediate.int_outages_identified")
    assert mart["n"][0] == outages["n"][0] == len(incidents)


def _correlation_points(warehouse: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    requests = _df(
        warehouse, "select service, response_time_ms, requested_at from marts.fct_api_requests"
    )
    requests["hour"] = requests["requested_at"].dt.floor("h")
    latency = requests.groupby(["service", "hour"])["response_time_ms"].apply(
        lambda s: np.percentile(s, 95)
    )
    utilization = _df(
        warehouse,
        "select service, hour_start, avg_cpu_utilization_pct"
        " from marts.fct_resource_utilization_hourly where avg_cpu_utilization_pct is not null",
    )
    cpu = utilization.groupby(["service", "hour_start"])["avg_cpu_utilization_pct"].mean()
    cpu.index.names = latency.index.names
    hourly = pd.concat([cpu.rename("x"), latency.rename("y")], axis=1, join="inner").reset_index()
    hourly = hourly.assign(pair="cpu_utilization_vs_latency_p95", day=hourly["hour"].dt.normalize())
    uptime = _df(
        warehouse, "select service, check_date, uptime_pct from marts.fct_service_uptime_daily"
    )
    uptime["day"] = pd.to_datetime(uptime["check_date"])
    responses = _df(
        warehouse, "select survey_type, score, submitted_date from marts.fct_survey_responses"
    )
    csat = responses[responses["survey_type"] == "csat"].groupby("submitted_date")["score"].mean()
    csat.index = pd.to_datetime(csat.index)
    daily = uptime.merge(csat.rename("y"), left_on="day", right_index=True)
    daily = daily.rename(columns={"uptime_pct": "x"}).assign(pair="uptime_vs_csat_score")
    columns = ["service", "pair", "day", "x", "y"]
    return pd.concat([hourly[columns], daily[columns]], ignore_index=True)


def _correlation(x: pd.Series, y: pd.Series) -> float:
    if x.nunique() < 2 or y.nunique() < 2:
        return np.nan
    return float(np.corrcoef(x, y)[0, 1])


def test_rolling_pearson_and_spearman_equal_pandas_windows(warehouse):
    points = _correlation_points(warehouse)
    mart = _df(
        warehouse,
        "select * from marts.fct_service_correlations_daily"
        " where correlation_pair in ('cpu_utilization_vs_latency_p95', 'uptime_vs_csat_score')",
    )
    mart["window_end_date"] = pd.to_datetime(mart["window_end_date"])
    checked = 0
    for row in mart.itertuples():
        window = points[
            (points["service"] == row.service)
            & (points["pair"] == row.correlation_pair)
            & (points["day"] <= row.window_end_date)
            & (points["day"] > row.window_end_date - pd.Timedelta(days=row.window_days))
        ]
        assert len(window) == row.points, row
        pearson = _correlation(window["x"], window["y"])
        # Ranked on values rounded to 9 decimals, as the mart does: numpy's p95 and the
        # warehouse's can differ in the last bit, which would split a genuine tie.
        spearman = _correlation(window["x"].round(9).rank(), window["y"].round(9).rank())
        for actual, expected in (
            (row.pearson_correlation, pearson),
            (row.spearman_correlation, spearman),
        ):
            if np.isnan(expected):
                assert pd.isna(actual), row
            else:
                assert actual == pytest.approx(expected, rel=1e-9, abs=1e-9), row
                checked += 1
        minimum = 48 if row.window_days == 7 else 10
        assert row.is_too_few_points == (row.points < minimum)
    assert checked >= 20
    ends = points.groupby(["service", "pair"])["day"].nunique().sum()
    assert len(mart) == ends


def test_trending_exports_keep_only_their_trailing_window(semantic, warehouse):
    short = _df(warehouse, "select * from metrics.trending_short_term_5min")
    buckets = pd.to_datetime(short["api_request__requested_5min_at__minute"])
    assert len(short) > 0
    assert buckets.max() - buckets.min() < pd.Timedelta(hours=24)
    requests = _df(
        warehouse, "select service, requested_at from staging.stg_platform__api_requests"
    )
    requests["bucket"] = requests["requested_at"].dt.floor("5min")
    counts = requests.groupby(["bucket", "service"]).size()
    recent = counts[counts.index.get_level_values(0) > buckets.max() - pd.Timedelta(hours=24)]
    actual = short.set_index([buckets.rename("bucket"), "service"])["requests"]
    assert_close(actual.astype(float), recent.astype(float))

    long = _df(warehouse, "select * from metrics.trending_long_term_daily")
    days = pd.to_datetime(long["metric_time__day"])
    assert 0 < len(long) <= 90
    assert days.max() - days.min() < pd.Timedelta(days=90)
    mrr = _df(warehouse, "select mrr_date, mrr_amount from marts.fct_mrr_daily")
    mrr = mrr.set_index(pd.to_datetime(mrr["mrr_date"]))["mrr_amount"].astype(float)
    assert_close(
        long.set_index(days)["mrr"].dropna(), mrr.reindex(days).dropna(), rtol=1e-3, atol=1e-3
    )
