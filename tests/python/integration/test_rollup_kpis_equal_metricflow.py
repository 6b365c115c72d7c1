"""One executable definition per KPI: every KPI column a rollup mart keeps for BI
convenience equals `mf query` of its metric, for every period and every slice of the
tiny warehouse (docs/decisions.md, Issue 14, lists why each rollup exists).

The rollups are read as they are built; MetricFlow answers from the semantic models. All
`mf` subprocesses run in the module fixture, before any test opens the warehouse (DuckDB
has one writer)."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from conftest import assert_close, run_on_warehouse

from opsmetrics.dbt_invoke import run_dbt

BIN = Path(sys.executable).parent
MONTH = "metric_time__month"
DAY = "metric_time__day"
REQUEST_SLICE = {"service": "service", "endpoint": "api_request__endpoint"}
# KPIs that need 13 months of history; the tiny data spans seven (both sides stay null).
UNDEFINED_ON_TINY_DATA = {"arr_growth_yoy_pct", "grr_t12m_pct", "nrr_t12m_pct"}


@dataclass(frozen=True)
class Rollup:
    """A rollup mart (or one slice of it) and the metric behind each of its KPI columns."""

    name: str
    relation: str
    # mart key column -> MetricFlow group-by (time grain or dimension)
    keys: dict[str, str]
    # mart KPI column -> metric
    columns: dict[str, str]
    # Counts and amounts: a row missing on one side counts 0 there (a dense mart shows 0
    # where MetricFlow has no row; MetricFlow counts 0 where a sparse mart has no row).
    zero_when_missing: tuple[str, ...] = ()
    # Columns that restate a metric per bucket length: column = metric x factor.
    factors: dict[str, float] = field(default_factory=dict)


REVENUE_FLOWS = {
    "starting_mrr_amount": "starting_mrr",
    "new_mrr_amount": "new_mrr",
    "reactivation_mrr_amount": "reactivation_mrr",
    "expansion_mrr_amount": "expansion_mrr",
    "contraction_mrr_amount": "contraction_mrr",
    "churned_mrr_amount": "churned_mrr",
    "starting_active_customers": "starting_active_customers",
    "new_customers": "new_customers",
    "reactivated_customers": "reactivated_customers",
    "churned_customers": "churned_customers",
}
REQUEST_KPIS = {
    "requests": "requests",
    "server_error_requests": "server_error_requests",
    "client_error_requests": "client_error_requests",
    "error_rate_pct": "error_rate",
    "client_error_rate_pct": "client_error_rate",
    "p50_latency_ms": "latency_p50_ms",
    "p95_latency_ms": "latency_p95_ms",
    "p99_latency_ms": "latency_p99_ms",
    "throughput_rps": "requests",
}
NPS_KPIS = {
    "responses": "nps_responses",
    "promoters": "nps_promoters",
    "detractors": "nps_detractors",
    "nps": "nps",
}
NPS_COUNTS = ("responses", "promoters", "detractors")
CSAT_KPIS = {
    "responses": "csat_responses",
    "satisfied_responses": "csat_satisfied_responses",
    "csat_score": "csat_score",
    "csat_pct": "csat_pct",
}
CSAT_COUNTS = ("responses", "satisfied_responses")


def _slice(mart: str, dimension: str) -> str:
    return f"(select * from marts.{mart} where dimension_name = '{dimension}')"


ROLLUPS = [
    Rollup(
        "fct_mrr_monthly",
        "marts.fct_mrr_monthly",
        {"month_start_date": MONTH},
        {
            "mrr_amount": "mrr",
            "arr_amount": "arr",
            "active_customers": "active_customers",
            **REVENUE_FLOWS,
            "t12m_cohort_starting_mrr_amount": "t12m_cohort_starting_mrr",
            "t12m_cohort_mrr_amount": "t12m_cohort_mrr",
            "t12m_cohort_capped_mrr_amount": "t12m_cohort_capped_mrr",
            "arr_growth_mom_pct": "arr_growth_mom",
            "arr_growth_yoy_pct": "arr_growth_yoy",
            "logo_churn_rate_pct": "logo_churn_rate",
            "gross_mrr_churn_rate_pct": "gross_mrr_churn_rate",
            "grr_pct": "gross_revenue_retention",
            "nrr_pct": "net_revenue_retention",
            "grr_t12m_pct": "gross_revenue_retention_t12m",
            "nrr_t12m_pct": "net_revenue_retention_t12m",
            "arpa_amount": "arpa",
            "cac_amount": "cac",
            "ltv_amount": "ltv",
            "ltv_to_cac_ratio": "ltv_to_cac",
            "cac_payback_months": "cac_payback_months",
            "acquisition_cost_amount": "acquisition_cost",
        },
        zero_when_missing=(
            "mrr_amount",
            "arr_amount",
            "active_customers",
            *REVENUE_FLOWS,
            "t12m_cohort_starting_mrr_amount",
            "t12m_cohort_mrr_amount",
            "t12m_cohort_capped_mrr_amount",
            "acquisition_cost_amount",
        ),
    ),
    Rollup(
        "fct_mrr_daily",
        "marts.fct_mrr_daily",
        {"mrr_date": DAY},
        {
            "mrr_amount": "mrr",
            "arr_amount": "arr",
            "active_customers": "active_customers",
            "arpa_amount": "arpa",
        },
        zero_when_missing=("mrr_amount", "arr_amount", "active_customers"),
    ),
    Rollup(
        "fct_mrr_segments_monthly",
        "marts.fct_mrr_segments_monthly",
        {
            "month_start_date": MONTH,
            "segment": "customer__segment",
            "country_code": "customer__country",
            "plan_id": "customer_month__plan",
            "acquisition_channel": "customer__acquisition_channel",
        },
        {**REVENUE_FLOWS, "active_customers": "month_end_active_customers"},
        zero_when_missing=(*REVENUE_FLOWS, "active_customers"),
    ),
    # MRR is a month-end balance of the daily semantic model, which has no plan: the
    # balance columns are compared per slice without the plan (summed over plans).
    Rollup(
        "fct_mrr_segments_monthly (balances)",
        "(select month_start_date, segment, country_code, acquisition_channel,"
        " sum(mrr_amount) as mrr_amount, sum(arr_amount) as arr_amount"
        " from marts.fct_mrr_segments_monthly group by all)",
        {
            "month_start_date": MONTH,
            "segment": "customer__segment",
            "country_code": "customer__country",
            "acquisition_channel": "customer__acquisition_channel",
        },
        {"mrr_amount": "mrr", "arr_amount": "arr"},
        zero_when_missing=("mrr_amount", "arr_amount"),
    ),
    Rollup(
        "fct_api_requests_5min",
        "marts.fct_api_requests_5min",
        {"bucket_start": "api_request__requested_5min_at__minute", **REQUEST_SLICE},
        REQUEST_KPIS,
        factors={"throughput_rps": 1 / 300},
    ),
    Rollup(
        "fct_api_requests_hourly",
        "marts.fct_api_requests_hourly",
        {"bucket_start": "api_request__requested_5min_at__hour", **REQUEST_SLICE},
        REQUEST_KPIS,
        factors={"throughput_rps": 1 / 3_600},
    ),
    Rollup(
        "fct_api_requests_daily",
        "marts.fct_api_requests_daily",
        {"request_date": DAY, **REQUEST_SLICE},
        {**REQUEST_KPIS, "throughput_rps": "throughput_rps"},
    ),
    Rollup(
        "fct_slo_daily",
        "marts.fct_slo_daily",
        {"slo_date": DAY, "service": "service"},
        {"requests": "requests", "p95_latency_ms": "latency_p95_ms"},
        zero_when_missing=("requests",),
    ),
    Rollup(
        "fct_service_uptime_monthly",
        "marts.fct_service_uptime_monthly",
        {"check_month": MONTH, "service": "service"},
        {"checks": "health_checks", "up_checks": "up_health_checks", "uptime_pct": "uptime_pct"},
    ),
    Rollup(
        "fct_nps_monthly (overall)",
        _slice("fct_nps_monthly", "overall"),
        {"month_start_date": MONTH},
        NPS_KPIS,
        zero_when_missing=NPS_COUNTS,
    ),
    *(
        Rollup(
            f"fct_nps_monthly ({dimension})",
            _slice("fct_nps_monthly", dimension),
            {"month_start_date": MONTH, "dimension_value": f"survey_response__{dimension}"},
            NPS_KPIS,
            zero_when_missing=NPS_COUNTS,
        )
        for dimension in ("segment", "plan", "country")
    ),
    Rollup(
        "fct_csat_monthly (overall)",
        _slice("fct_csat_monthly", "overall"),
        {"month_start_date": MONTH},
        CSAT_KPIS,
        zero_when_missing=CSAT_COUNTS,
    ),
    Rollup(
        "fct_csat_monthly (segment)",
        _slice("fct_csat_monthly", "segment"),
        {"month_start_date": MONTH, "dimension_value": "survey_response__segment"},
        CSAT_KPIS,
        zero_when_missing=CSAT_COUNTS,
    ),
    Rollup(
        "fct_user_adoption_monthly",
        "marts.fct_user_adoption_monthly",
        {"month_start_date": MONTH},
        {
            "new_users": "new_users",
            "new_users_growth_rate": "new_users_growth_rate",
            "activated_users": "activated_users",
            "activation_rate": "activation_rate",
        },
        zero_when_missing=("new_users", "activated_users"),
    ),
    Rollup(
        "fct_active_users_daily",
        "marts.fct_active_users_daily",
        {"activity_date": DAY},
        {
            "daily_active_users": "dau",
            "weekly_active_users": "wau",
            "monthly_active_users": "mau",
            "stickiness_ratio": "stickiness",
        },
        # A day without events has no DAU in MetricFlow; the dense calendar shows 0 users,
        # hence 0 stickiness.
        zero_when_missing=("daily_active_users", "stickiness_ratio"),
    ),
]


def _queries() -> dict[tuple[str, ...], list[str]]:
    """One `mf query` per group-by: every metric the rollups with that group-by need."""
    queries: dict[tuple[str, ...], dict[str, None]] = {}
    for rollup in ROLLUPS:
        queries.setdefault(tuple(rollup.keys.values()), {}).update(
            dict.fromkeys(rollup.columns.values())
        )
    return {group_by: list(metrics) for group_by, metrics in queries.items()}


@pytest.fixture(scope="module")
def metricflow(tiny_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """`mf query` answers by group-by, as MetricFlow's CSV gives them."""
    run_dbt(["parse"])  # the semantic manifest must name this warehouse's relations
    out = tmp_path_factory.mktemp("mf_rollups")
    answers = {}
    for number, (group_by, metrics) in enumerate(_queries().items()):
        csv = out / f"query_{number}.csv"
        command = ["query", "--metrics", ",".join(metrics), "--group-by", ",".join(group_by)]
        run_on_warehouse([str(BIN / "mf"), *command, "--csv", str(csv)], tiny_warehouse)
        answers[group_by] = pd.read_csv(csv, keep_default_na=False, na_values=[""])
    return answers


def _keyed(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """`frame` indexed by `keys`, time keys as timestamps and the rest as text."""
    frame = frame.copy()
    for key in keys:
        if key.startswith(("metric_time__", "api_request__requested_")):
            frame[key] = pd.to_datetime(frame[key])
        else:
            frame[key] = frame[key].astype(str)
    return frame.set_index(keys).sort_index()


def _period_range(mart: pd.DataFrame) -> tuple[pd.Timestamp, pd.Timestamp]:
    periods = mart.index.get_level_values(0)
    return periods.min(), periods.max()


@pytest.mark.parametrize("rollup", ROLLUPS, ids=lambda rollup: rollup.name)
def test_rollup_kpi_columns_equal_mf_query_for_every_period_and_slice(
    rollup: Rollup, metricflow: dict, warehouse: duckdb.DuckDBPyConnection
) -> None:
    group_by = list(rollup.keys.values())
    columns = ", ".join(f"{column} as {key}" for column, key in rollup.keys.items())
    mart = warehouse.execute(
        f"select {columns}, {', '.join(rollup.columns)} from {rollup.relation} as rollup"
    ).df()
    assert len(mart) > 0, f"{rollup.name} is empty"
    mart = _keyed(mart, group_by)
    answer = _keyed(metricflow[tuple(group_by)], group_by)
    assert mart.index.is_unique and answer.index.is_unique
    # The periods the mart covers (MetricFlow's cumulative metrics run on past the data).
    periods = answer.index.get_level_values(0)
    in_range = periods.to_series().between(*_period_range(mart)).to_numpy()
    answer = answer[in_range]

    rows = mart.index.union(answer.index)
    null_everywhere = []
    for column, metric in rollup.columns.items():
        actual = mart[column].astype(float).reindex(rows)
        expected = answer[metric].astype(float).reindex(rows) * rollup.factors.get(column, 1.0)
        if column in rollup.zero_when_missing:
            actual, expected = actual.fillna(0.0), expected.fillna(0.0)
        if actual.isna().all() and expected.isna().all():
            null_everywhere.append(column)
            continue
        assert_close(actual, expected, f"{rollup.name}.{column} vs {metric}", rtol=1e-9, atol=1e-6)
    # Null on both sides for every period: only what the tiny data cannot define.
    assert null_everywhere == [c for c in rollup.columns if c in UNDEFINED_ON_TINY_DATA]
