"""The semantic layer: MetricFlow's answers equal the marts and an independent pandas
computation from staging; balances are point-in-time; the KPI registry is complete and
docs/kpis.md current; export-metrics materialises every saved query.

Every `mf` call is a subprocess run in the project directory against the session's tiny
warehouse, with no connection of ours open while it runs (DuckDB has one writer)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from conftest import assert_close, run_on_warehouse, use_warehouse

from opsmetrics.dbt_invoke import run_dbt
from opsmetrics.semantic import (
    export_metrics,
    kpis_page_path,
    load_manifest,
    metric_tables,
    registry_problems,
    render_kpis_page,
)

BIN = Path(sys.executable).parent
MONEY_TOLERANCE = 1e-3  # the marts round MRR per subscription version to micro-dollars

QUERIES = {
    "monthly": ["--metrics", "mrr,logo_churn_rate,cac,nps", "--group-by", "metric_time__month"],
    "mrr_daily": ["--metrics", "mrr", "--group-by", "metric_time__day"],
    "cac_by_channel": [
        "--metrics",
        "cac",
        "--group-by",
        "metric_time__month,acquisition_channel_month__acquisition_channel",
    ],
    "requests_by_endpoint": [
        "--metrics",
        "requests,error_rate,latency_p95_ms",
        "--group-by",
        "metric_time__day,service,api_request__endpoint",
    ],
    "requests_by_service": [
        "--metrics",
        "latency_p95_ms",
        "--group-by",
        "metric_time__day,service",
    ],
    "executive_monthly": ["--saved-query", "executive_monthly"],
    "product_daily": ["--saved-query", "product_daily"],
}


@pytest.fixture(scope="module")
def semantic(tiny_metric_tables: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Every MetricFlow answer the tests need, on the tiny warehouse with its metric tables
    exported (the session's one export): all the subprocesses run here, before any test
    opens the warehouse."""
    run_dbt(["parse"])  # the semantic manifest must name this warehouse's relations
    out = tmp_path_factory.mktemp("mf")
    results = {}
    for name, args in QUERIES.items():
        csv = out / f"{name}.csv"
        run_on_warehouse([str(BIN / "mf"), "query", *args, "--csv", str(csv)], tiny_metric_tables)
        frame = pd.read_csv(csv)
        for column in ("metric_time__day", "metric_time__month"):
            if column in frame:
                frame[column] = pd.to_datetime(frame[column])
        results[name] = frame
    return results


def _table(connection: duckdb.DuckDBPyConnection, sql: str) -> pd.DataFrame:
    """Rows of `sql`, with every `*_date` column as a pandas timestamp (keys compare equal
    to MetricFlow's metric_time)."""
    frame = connection.execute(sql).df()
    for column in frame.columns:
        if column.endswith("_date"):
            frame[column] = pd.to_datetime(frame[column])
    return frame


def _month_start(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values).dt.to_period("M").dt.to_timestamp()


def _as_of_date(connection: duckdb.DuckDBPyConnection) -> pd.Timestamp:
    """The revenue calendar's last day: the latest billing or acquisition-cost record."""
    return pd.Timestamp(
        connection.sql(
            """
            select max(record_date) from (
                select cast(valid_from as date) as record_date
                from staging.stg_billing__subscriptions
                union all
                select cast(created_at as date) from staging.stg_billing__transactions
                union all
                select cost_date from staging.stg_marketing__acquisition_costs
            ) as record_dates
            """
        ).fetchall()[0][0]
    )


def _month_end_mrr(connection: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Customer x month MRR at the end of each month's last day (the as-of day for the
    last month), recomputed from staged subscription versions; wide: months x customers."""
    versions = _table(connection, "select * from staging.stg_billing__subscriptions")
    paid = versions["status"].isin(["active", "past_due"])
    versions["mrr"] = np.where(
        paid,
        versions["quantity"]
        * versions["unit_amount"].astype(float)
        * (1 - versions["discount_percent"].astype(float) / 100)
        / versions["billing_interval_months"],
        0.0,
    )
    as_of = _as_of_date(connection)
    months = pd.date_range(
        versions["valid_from"].min().to_period("M").to_timestamp(), as_of, freq="MS"
    )
    columns = {}
    for month in months:
        last_day = min(month + pd.offsets.MonthEnd(0), as_of)
        instant = last_day + pd.Timedelta(days=1)
        in_force = (versions["valid_from"] < instant) & (
            versions["valid_to"].isna() | (versions["valid_to"] >= instant)
        )
        columns[month] = versions[in_force].groupby("customer_id")["mrr"].sum()
    return pd.DataFrame(columns).T.fillna(0.0).sort_index()


def _logo_churn_rates(mrr: pd.DataFrame) -> pd.Series:
    previous = mrr.shift(1).fillna(0.0)
    start = (previous > 0).sum(axis=1)
    end = (mrr > 0).sum(axis=1)
    new = ((previous == 0) & (mrr > 0)).sum(axis=1)
    churned = start - (end - new)
    return (churned * 100 / start.where(start > 0)).dropna()


def _first_paid_months(mrr: pd.DataFrame) -> pd.Series:
    return (mrr > 0).idxmax().where((mrr > 0).any())


def _acquisition_costs(connection: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    costs = _table(
        connection,
        "select acquisition_channel, cost_date, amount"
        " from staging.stg_marketing__acquisition_costs"
        " where category in ('marketing', 'sales')",
    )
    costs["month"] = _month_start(costs["cost_date"])
    return costs


def test_monthly_mrr_equals_the_mart_and_month_end_mrr_from_staging(
    semantic: dict, warehouse: duckdb.DuckDBPyConnection
) -> None:
    semantic_mrr = semantic["monthly"].set_index("metric_time__month")["mrr"].dropna()
    mart = _table(warehouse, "select month_start_date, mrr_amount from marts.fct_mrr_monthly")
    mart_mrr = mart.set_index("month_start_date")["mrr_amount"].astype(float)
    independent = _month_end_mrr(warehouse).sum(axis=1)

    assert len(semantic_mrr) >= 3
    assert_close(semantic_mrr, mart_mrr[mart_mrr > 0], rtol=MONEY_TOLERANCE, atol=MONEY_TOLERANCE)
    assert_close(
        semantic_mrr, independent[independent > 0], rtol=MONEY_TOLERANCE, atol=MONEY_TOLERANCE
    )


def test_monthly_mrr_is_the_month_end_balance_not_a_sum_of_days(semantic: dict) -> None:
    daily = semantic["mrr_daily"].dropna(subset=["mrr"])
    daily["month"] = _month_start(daily["metric_time__day"])
    last_days = daily.sort_values("metric_time__day").groupby("month").last()["mrr"]
    sums = daily.groupby("month")["mrr"].sum()
    monthly = semantic["monthly"].set_index("metric_time__month")["mrr"].dropna()

    assert_close(monthly, last_days)
    months_with_several_paid_days = daily[daily["mrr"] > 0].groupby("month").size() > 1
    checked = months_with_several_paid_days[months_with_several_paid_days].index
    assert len(checked) >= 3
    assert all(monthly[month] < sums[month] - 1 for month in checked)


def test_logo_churn_rate_equals_the_mart_and_the_classic_formula_from_staging(
    semantic: dict, warehouse: duckdb.DuckDBPyConnection
) -> None:
    semantic_rate = semantic["monthly"].set_index("metric_time__month")["logo_churn_rate"]
    mart = _table(
        warehouse, "select month_start_date, logo_churn_rate_pct from marts.fct_mrr_monthly"
    )
    mart_rate = mart.set_index("month_start_date")["logo_churn_rate_pct"].dropna()
    independent = _logo_churn_rates(_month_end_mrr(warehouse))

    assert len(mart_rate) >= 3 and (mart_rate > 0).any()
    assert_close(semantic_rate.dropna(), mart_rate)
    assert_close(semantic_rate.dropna(), independent)


def test_nps_equals_the_mart_and_the_responses_in_staging(
    semantic: dict, warehouse: duckdb.DuckDBPyConnection
) -> None:
    semantic_nps = semantic["monthly"].set_index("metric_time__month")["nps"].dropna()
    mart = _table(
        warehouse,
        "select month_start_date, nps from marts.fct_nps_monthly where dimension_name = 'overall'",
    )
    mart_nps = mart.set_index("month_start_date")["nps"].dropna()
    responses = _table(
        warehouse,
        "select score, submitted_at from staging.stg_surveys__survey_responses"
        " where survey_type = 'nps'",
    )
    responses["month"] = _month_start(responses["submitted_at"])
    by_month = responses.groupby("month")["score"]
    independent = (
        (by_month.apply(lambda s: (s >= 9).sum()) - by_month.apply(lambda s: (s <= 6).sum()))
        * 100
        / by_month.size()
    )

    assert len(independent) >= 2
    assert_close(semantic_nps, mart_nps)
    assert_close(semantic_nps, independent)


def _requests(connection: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    requests = _table(
        connection,
        "select service, endpoint, status_code, response_time_ms, requested_at"
        " from staging.stg_platform__api_requests",
    )
    requests["day"] = pd.to_datetime(requests["requested_at"]).dt.normalize()
    return requests


def test_error_rate_equals_the_mart_and_the_requests_in_staging(
    semantic: dict, warehouse: duckdb.DuckDBPyConnection
) -> None:
    keys = ["metric_time__day", "service", "api_request__endpoint"]
    semantic_rate = semantic["requests_by_endpoint"].set_index(keys)["error_rate"]
    mart = _table(
        warehouse,
        "select request_date, service, endpoint, error_rate_pct from marts.fct_api_requests_daily",
    )
    mart_rate = mart.set_index(["request_date", "service", "endpoint"])["error_rate_pct"]
    requests = _requests(warehouse)
    independent = requests.groupby(["day", "service", "endpoint"])["status_code"].apply(
        lambda codes: (codes >= 500).mean() * 100
    )

    assert (independent > 0).any()
    for expected in (mart_rate, independent):
        expected.index.names = keys
        assert_close(semantic_rate, expected)


def test_p95_latency_is_the_exact_percentile_of_the_requests_at_each_grain(
    semantic: dict, warehouse: duckdb.DuckDBPyConnection
) -> None:
    requests = _requests(warehouse)

    by_endpoint_keys = ["metric_time__day", "service", "api_request__endpoint"]
    semantic_endpoint = semantic["requests_by_endpoint"].set_index(by_endpoint_keys)
    mart_endpoint = _table(
        warehouse,
        "select request_date, service, endpoint, p95_latency_ms from marts.fct_api_requests_daily",
    ).set_index(["request_date", "service", "endpoint"])["p95_latency_ms"]
    numpy_endpoint = requests.groupby(["day", "service", "endpoint"])["response_time_ms"].apply(
        lambda values: np.percentile(values, 95)
    )
    for expected in (mart_endpoint, numpy_endpoint):
        expected.index.names = by_endpoint_keys
        assert_close(semantic_endpoint["latency_p95_ms"], expected)

    by_service_keys = ["metric_time__day", "service"]
    semantic_service = semantic["requests_by_service"].set_index(by_service_keys)
    mart_service = _table(
        warehouse, "select slo_date, service, p95_latency_ms from marts.fct_slo_daily"
    ).set_index(["slo_date", "service"])["p95_latency_ms"]
    numpy_service = requests.groupby(["day", "service"])["response_time_ms"].apply(
        lambda values: np.percentile(values, 95)
    )
    mart_service.index.names = numpy_service.index.names = by_service_keys
    assert_close(semantic_service["latency_p95_ms"], mart_service.dropna())
    assert_close(semantic_service["latency_p95_ms"], numpy_service)


def _cost_per_new_customer(
    costs: pd.DataFrame, new_customers: pd.DataFrame, keys: list[str]
) -> pd.Series:
    """Costs / new customers per group with new customers (a channel without costs that
    still won customers has a CAC of 0; a group without new customers has none)."""
    acquired = new_customers.groupby(keys).size()
    spent = costs.groupby(keys)["amount"].sum().reindex(acquired.index, fill_value=0.0)
    return spent / acquired


def test_cac_equals_the_marts_and_costs_over_new_customers_from_staging(
    semantic: dict, warehouse: duckdb.DuckDBPyConnection
) -> None:
    first_paid = _first_paid_months(_month_end_mrr(warehouse)).dropna()
    customers = _table(
        warehouse, "select customer_id, acquisition_channel from staging.stg_app__customers"
    ).set_index("customer_id")
    new_customers = customers.loc[first_paid.index].assign(month=first_paid)
    costs = _acquisition_costs(warehouse)

    blended = _cost_per_new_customer(costs, new_customers, ["month"])
    semantic_blended = semantic["monthly"].set_index("metric_time__month")["cac"].dropna()
    mart_blended = _table(
        warehouse, "select month_start_date, cac_amount from marts.fct_mrr_monthly"
    ).set_index("month_start_date")["cac_amount"]
    assert len(semantic_blended) >= 3
    assert_close(semantic_blended, mart_blended.dropna())
    assert_close(semantic_blended, blended.dropna())

    keys = ["metric_time__month", "acquisition_channel_month__acquisition_channel"]
    by_channel = _cost_per_new_customer(costs, new_customers, ["month", "acquisition_channel"])
    mart_by_channel = _table(
        warehouse,
        "select month_start_date, acquisition_channel, cac_amount"
        " from marts.fct_acquisition_monthly",
    ).set_index(["month_start_date", "acquisition_channel"])["cac_amount"]
    by_channel.index.names = mart_by_channel.index.names = keys
    semantic_by_channel = semantic["cac_by_channel"].set_index(keys)["cac"].dropna()
    assert_close(semantic_by_channel, mart_by_channel.dropna())
    assert_close(semantic_by_channel, by_channel)


def test_rolling_active_users_and_stickiness_equal_the_daily_mart(
    semantic: dict, warehouse: duckdb.DuckDBPyConnection
) -> None:
    semantic_daily = semantic["product_daily"].set_index("metric_time__day")
    mart = _table(warehouse, "select * from marts.fct_active_users_daily").set_index(
        "activity_date"
    )
    mart.index.name = "metric_time__day"
    assert len(mart) >= 28
    semantic_daily = semantic_daily.reindex(mart.index)
    # A day without events has no DAU row in MetricFlow (nothing to count); the mart's
    # dense calendar shows 0 users, hence 0 stickiness, for it.
    quiet_days = semantic_daily["dau"].isna()
    assert (mart.loc[quiet_days, "daily_active_users"] == 0).all()
    semantic_daily.loc[quiet_days, ["dau", "stickiness"]] = 0.0
    for metric, column in (
        ("dau", "daily_active_users"),
        ("wau", "weekly_active_users"),
        ("mau", "monthly_active_users"),
        ("stickiness", "stickiness_ratio"),
    ):
        assert_close(semantic_daily[metric], mart[column].astype(float))


def test_export_metrics_creates_one_table_per_saved_query_with_its_rows(
    semantic: dict, warehouse: duckdb.DuckDBPyConnection
) -> None:
    tables = metric_tables(load_manifest())
    assert {table.saved_query for table in tables} >= {
        "executive_monthly",
        "growth_monthly",
        "product_daily",
        "operational_daily",
    }
    for table in tables:
        count_sql = f"select count(*) from {table.schema}.{table.table}"
        rows = warehouse.execute(count_sql).fetchall()[0][0]
        assert rows > 0, table

    exported = _table(warehouse, "select * from metrics.executive_monthly")
    exported["metric_time__month"] = pd.to_datetime(exported["metric_time__month"])
    expected = semantic["executive_monthly"]
    metrics = [column for column in expected.columns if column != "metric_time__month"]
    expected = expected.dropna(subset=metrics, how="all")
    assert list(exported.columns) == list(expected.columns)
    exported = exported.sort_values("metric_time__month").reset_index(drop=True)
    expected = expected.sort_values("metric_time__month").reset_index(drop=True)
    assert list(exported["metric_time__month"]) == list(expected["metric_time__month"])
    np.testing.assert_allclose(
        exported[metrics].astype(float), expected[metrics].astype(float), rtol=1e-9, equal_nan=True
    )


def test_export_metrics_leaves_the_environment_as_it_found_it(
    tiny_warehouse: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """MetricFlow reads the target and profiles.yml from the environment: they are set
    for the export only."""
    use_warehouse(tiny_warehouse)
    for name in ("OPSMETRICS_TARGET", "DBT_PROFILES_DIR"):
        monkeypatch.delenv(name, raising=False)
    before = dict(os.environ)

    tables = export_metrics()

    assert tables and all(rows > 0 for rows in tables.values())
    assert dict(os.environ) == before


def test_every_kpi_has_a_valid_registry_entry(semantic: dict) -> None:
    manifest = load_manifest()
    assert registry_problems(manifest) == []
    kpi_names = {
        metric["name"] for metric in manifest["metrics"].values() if metric["config"]["meta"]
    }
    assert kpi_names >= REQUIRED_KPIS


def test_registry_check_rejects_a_warning_threshold_outside_target_and_critical(
    semantic: dict,
) -> None:
    manifest = load_manifest()
    meta = manifest["metrics"]["metric.opsmetrics.error_rate"]["config"]["meta"]
    meta["warning_threshold"] = meta["critical_threshold"] + 1
    meta["tier"] = "vanity"
    problems = registry_problems(manifest)
    assert any(p.startswith("error_rate: warning") for p in problems)
    assert any(p.startswith("error_rate: tier 'vanity'") for p in problems)


def test_kpis_page_is_up_to_date(semantic: dict) -> None:
    assert kpis_page_path().read_text() == render_kpis_page(load_manifest()), (
        "docs/kpis.md is stale: run `opsmetrics kpis`"
    )


REQUIRED_KPIS = {
    "mrr",
    "arr",
    "new_mrr",
    "expansion_mrr",
    "contraction_mrr",
    "churned_mrr",
    "reactivation_mrr",
    "net_new_mrr",
    "active_customers",
    "new_customers",
    "churned_customers",
    "logo_churn_rate",
    "gross_mrr_churn_rate",
    "net_revenue_retention",
    "gross_revenue_retention",
    "arr_growth_mom",
    "arr_growth_yoy",
    "arpa",
    "cac",
    "ltv",
    "ltv_to_cac",
    "cac_payback_months",
    "revenue",
    "transactions",
    "average_transaction_value",
    "nps",
    "csat_score",
    "csat_pct",
    "new_users",
    "activation_rate",
    "dau",
    "mau",
    "stickiness",
    "feature_adoption_rate",
    "requests",
    "error_rate",
    "client_error_rate",
    "latency_p50_ms",
    "latency_p95_ms",
    "latency_p99_ms",
    "throughput_rps",
    "uptime_pct",
    "error_budget_remaining_pct",
    "cpu_utilization",
    "memory_utilization",
    # issue 16
    "revenue_growth_mom",
    "revenue_growth_qoq",
    "arr_growth_qoq",
    "customer_retention_rate",
    "customer_retention_rate_t12m",
    "feature_adoption_rate_weekly",
    "scale_up_response_p50_seconds",
    "scale_up_response_p95_seconds",
    "scale_ups_within_target_pct",
    "under_provisioned_minutes",
    "queue_depth_avg",
    "queue_depth_max",
    "active_connections_avg",
    "active_connections_max",
    "incidents",
    "mttr_minutes",
    "mttd_minutes",
    "availability_lost_per_incident_pct",
    "market_share_pct",
}
