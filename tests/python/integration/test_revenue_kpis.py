"""The revenue marts agree with an independent pandas computation of the same definitions
(docs/decisions.md "Revenue", models/marts/revenue/_revenue__docs.md), on the tiny data.

Inputs are the staging tables only; every KPI is recomputed here from first principles
(point-in-time MRR at the end of each month, movements, churn, retention, CAC, revenue)
and compared with the marts to 1e-6.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from conftest import assert_close

TOLERANCE = 1e-6
PAYING_STATUSES = {"active", "past_due"}

STAGING_QUERIES = {
    "subscriptions": "select * from staging.stg_billing__subscriptions",
    "transactions": "select * from staging.stg_billing__transactions",
    "costs": "select * from staging.stg_marketing__acquisition_costs",
    "customers": "select * from staging.stg_app__customers",
    "fx_rates": "select * from staging.stg_finance__fx_rates",
}
MART_QUERIES = {
    "customer_monthly": "select * from marts.fct_customer_mrr_monthly",
    "customer_daily": "select * from marts.fct_customer_mrr_daily",
    "daily": "select * from marts.fct_mrr_daily",
    "monthly": "select * from marts.fct_mrr_monthly",
    "acquisition": "select * from marts.fct_acquisition_monthly",
    "segments": "select * from marts.fct_mrr_segments_monthly",
    "revenue_daily": "select * from marts.fct_revenue_daily",
    "dim_customers": "select * from marts.dim_customers",
}


@dataclass(frozen=True)
class RevenueTables:
    staging: dict[str, pd.DataFrame]
    marts: dict[str, pd.DataFrame]


@pytest.fixture(scope="module")
def tables(tiny_warehouse: Path) -> Iterator[RevenueTables]:
    """Staging inputs and revenue marts of the tiny warehouse, read once for the module
    (not read_only: dbt has the file open in this process, see conftest `warehouse`)."""
    connection = duckdb.connect(str(tiny_warehouse), read_only=True)
    try:
        staging = {name: connection.execute(sql).df() for name, sql in STAGING_QUERIES.items()}
        marts = {name: connection.execute(sql).df() for name, sql in MART_QUERIES.items()}
    finally:
        connection.close()
    for frame in marts.values():
        for column in frame.columns:
            if column.endswith("_amount") and frame[column].dtype == object:
                frame[column] = frame[column].astype(float)
    yield RevenueTables(staging=staging, marts=marts)


# --- the reference computation -------------------------------------------------------


def version_mrr(subscriptions: pd.DataFrame) -> pd.DataFrame:
    """MRR per subscription version in USD (unit_amount is USD at valid_from)."""
    versions = subscriptions.copy()
    list_mrr = (
        versions["quantity"]
        * versions["unit_amount"]
        * (1 - versions["discount_percent"] / 100)
        / versions["billing_interval_months"]
    )
    versions["mrr"] = np.where(versions["status"].isin(PAYING_STATUSES), list_mrr, 0.0).round(6)
    return versions


def data_bounds(staging: dict[str, pd.DataFrame]) -> tuple[pd.Timestamp, pd.Timestamp]:
    dates = pd.concat(
        [
            staging["subscriptions"]["valid_from"].dt.normalize(),
            staging["transactions"]["created_at"].dt.normalize(),
            pd.to_datetime(staging["costs"]["cost_date"]),
        ]
    )
    return dates.min(), dates.max()


def mrr_at_instants(versions: pd.DataFrame, instants: pd.Series) -> pd.DataFrame:
    """Customer MRR in force at each instant: valid_from < t <= valid_to (or open)."""
    paid = versions[versions["mrr"] > 0]
    pairs = paid.merge(instants.rename("instant").to_frame(), how="cross")
    in_force = (pairs["valid_from"] < pairs["instant"]) & (
        pairs["valid_to"].isna() | (pairs["valid_to"] >= pairs["instant"])
    )
    return (
        pairs[in_force]
        .groupby(["customer_id", "instant"], as_index=False)["mrr"]
        .sum()
        .assign(mrr=lambda frame: frame["mrr"].round(6))
    )


def month_ends(first: pd.Timestamp, as_of: pd.Timestamp) -> pd.DataFrame:
    starts = pd.date_range(first.replace(day=1), as_of.replace(day=1), freq="MS")
    measured = [min(start + pd.offsets.MonthEnd(0), as_of) for start in starts]
    return pd.DataFrame(
        {
            "month_start_date": starts,
            "measured_date": measured,
            "instant": [day + pd.Timedelta(days=1) for day in measured],
        }
    )


def classify(previous: float, current: float, has_paid_before: bool) -> str:
    if previous == 0 and current > 0:
        return "reactivation" if has_paid_before else "new"
    if previous > 0 and current == 0:
        return "churn"
    if current > previous:
        return "expansion"
    if current < previous:
        return "contraction"
    return "unchanged" if current > 0 else "inactive"


def reference_customer_months(staging: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Customer x month MRR and movements, rows from the first paid month onwards."""
    versions = version_mrr(staging["subscriptions"])
    first, as_of = data_bounds(staging)
    months = month_ends(first, as_of)
    measured = mrr_at_instants(versions, months["instant"]).merge(months, on="instant")
    lookup = {(row.customer_id, row.month_start_date): row.mrr for row in measured.itertuples()}
    rows = []
    for customer_id in sorted(measured["customer_id"].unique()):
        previous, paid_before = 0.0, False
        history: list[float] = []
        for month in months.itertuples():
            current = lookup.get((customer_id, month.month_start_date), 0.0)
            if not paid_before and current == 0:
                continue
            movement = classify(previous, current, paid_before)
            rows.append(
                {
                    "customer_id": customer_id,
                    "month_start_date": month.month_start_date,
                    "mrr": current,
                    "previous_mrr": previous,
                    "movement": movement,
                    "mrr_12_months_earlier": history[-12] if len(history) >= 12 else 0.0,
                }
            )
            history.append(current)
            previous, paid_before = current, True
    return pd.DataFrame(rows)


def movement_amount(frame: pd.DataFrame, movement: str) -> pd.Series:
    delta = frame["mrr"] - frame["previous_mrr"]
    amounts = {
        "new": frame["mrr"],
        "reactivation": frame["mrr"],
        "expansion": delta,
        "contraction": -delta,
        "churn": frame["previous_mrr"],
    }
    return amounts[movement].where(frame["movement"] == movement, 0.0)


def reference_months(staging: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Company-wide monthly KPIs from the reference customer months."""
    customer_months = reference_customer_months(staging)
    first, as_of = data_bounds(staging)
    months = month_ends(first, as_of)[["month_start_date"]]
    for movement in ("new", "reactivation", "expansion", "contraction", "churn"):
        customer_months[f"{movement}_amount"] = movement_amount(customer_months, movement)
    cohort = customer_months["mrr_12_months_earlier"] > 0
    customer_months["t12m_start"] = customer_months["mrr_12_months_earlier"].where(cohort, 0.0)
    customer_months["t12m_now"] = customer_months["mrr"].where(cohort, 0.0)
    customer_months["t12m_capped"] = np.minimum(
        customer_months["mrr"], customer_months["mrr_12_months_earlier"]
    ).where(cohort, 0.0)
    totals = customer_months.groupby("month_start_date").agg(
        mrr=("mrr", "sum"),
        starting_mrr=("previous_mrr", "sum"),
        new_amount=("new_amount", "sum"),
        reactivation_amount=("reactivation_amount", "sum"),
        expansion_amount=("expansion_amount", "sum"),
        contraction_amount=("contraction_amount", "sum"),
        churn_amount=("churn_amount", "sum"),
        t12m_start=("t12m_start", "sum"),
        t12m_now=("t12m_now", "sum"),
        t12m_capped=("t12m_capped", "sum"),
        active=("mrr", lambda s: int((s > 0).sum())),
        starting_active=("previous_mrr", lambda s: int((s > 0).sum())),
        new=("movement", lambda s: int((s == "new").sum())),
        reactivated=("movement", lambda s: int((s == "reactivation").sum())),
    )
    result = months.merge(totals, on="month_start_date", how="left").fillna(0.0)

    costs = staging["costs"]
    costs = costs[costs["category"].isin(["marketing", "sales"])]
    cost_by_month = (
        costs.assign(
            month_start_date=pd.to_datetime(costs["cost_date"]).dt.to_period("M").dt.start_time
        )
        .groupby("month_start_date")["amount"]
        .sum()
    )
    result["costs"] = result["month_start_date"].map(cost_by_month).fillna(0.0)

    def ratio(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
        return (numerator / denominator.where(denominator != 0)).astype(float)

    end_minus_new = result["active"] - (result["new"] + result["reactivated"])
    result["logo_churn_rate_pct"] = 100 * ratio(
        result["starting_active"] - end_minus_new, result["starting_active"]
    )
    result["gross_mrr_churn_rate_pct"] = 100 * ratio(
        result["churn_amount"] + result["contraction_amount"], result["starting_mrr"]
    )
    retained = result["starting_mrr"] - result["contraction_amount"] - result["churn_amount"]
    result["grr_pct"] = 100 * ratio(retained, result["starting_mrr"])
    result["nrr_pct"] = 100 * ratio(retained + result["expansion_amount"], result["starting_mrr"])
    result["grr_t12m_pct"] = 100 * ratio(result["t12m_capped"], result["t12m_start"])
    result["nrr_t12m_pct"] = 100 * ratio(result["t12m_now"], result["t12m_start"])
    result["arpa_amount"] = ratio(result["mrr"], result["active"])
    result["cac_amount"] = ratio(result["costs"], result["new"])
    churn_t3m = result["logo_churn_rate_pct"].rolling(3, min_periods=1).mean()
    result["ltv_amount"] = ratio(result["arpa_amount"], churn_t3m / 100)
    result["arr_growth_mom_pct"] = 100 * ratio(
        result["mrr"] - result["mrr"].shift(1), result["mrr"].shift(1)
    )
    return result


# --- tests ---------------------------------------------------------------------------


def test_non_usd_versions_are_priced_at_the_rate_in_force_on_valid_from(tables):
    subscriptions = tables.staging["subscriptions"]
    rates = tables.staging["fx_rates"]
    foreign = subscriptions[subscriptions["original_currency"] != "USD"]
    assert len(foreign) > 0, "the tiny data should carry non-USD subscriptions"
    for version in foreign.itertuples():
        day = version.valid_from.normalize()
        candidates = rates[
            (rates["currency"] == version.original_currency)
            & (pd.to_datetime(rates["valid_from_date"]) <= day)
        ]
        rate = candidates.sort_values("valid_from_date")["rate_to_reporting"].iloc[-1]
        assert version.unit_amount == pytest.approx(version.original_unit_amount * rate)


def test_customer_month_end_mrr_and_movements_match_reference(tables):
    expected = reference_customer_months(tables.staging)
    actual = tables.marts["customer_monthly"].copy()
    actual["month_start_date"] = pd.to_datetime(actual["month_start_date"])
    assert expected["movement"].isin(["new"]).any()
    merged = expected.merge(
        actual, on=["customer_id", "month_start_date"], how="outer", indicator=True
    )
    assert (merged["_merge"] == "both").all(), "customer-month rows differ"
    assert_close(merged["mrr_amount"], merged["mrr"], "mrr", rtol=0, atol=TOLERANCE)
    assert_close(
        merged["previous_mrr_amount"],
        merged["previous_mrr"],
        "previous mrr",
        rtol=0,
        atol=TOLERANCE,
    )
    assert_close(
        merged["mrr_12_months_earlier_amount"],
        merged["mrr_12_months_earlier"],
        "mrr 12m",
        rtol=0,
        atol=TOLERANCE,
    )
    assert (merged["mrr_movement_type"] == merged["movement"]).all()
    for movement, column in [
        ("new", "new_mrr_amount"),
        ("reactivation", "reactivation_mrr_amount"),
        ("expansion", "expansion_mrr_amount"),
        ("contraction", "contraction_mrr_amount"),
        ("churn", "churned_mrr_amount"),
    ]:
        assert_close(
            merged[column], movement_amount(merged, movement), movement, rtol=0, atol=TOLERANCE
        )


def test_customer_daily_mrr_matches_reference_at_every_day_end(tables):
    versions = version_mrr(tables.staging["subscriptions"])
    actual = tables.marts["customer_daily"].copy()
    actual["instant"] = pd.to_datetime(actual["mrr_date"]) + pd.Timedelta(days=1)
    expected = mrr_at_instants(versions, pd.Series(actual["instant"].unique()))
    merged = actual.merge(expected, on=["customer_id", "instant"], how="left")
    assert_close(
        merged["mrr_amount"], merged["mrr"].fillna(0.0), "daily mrr", rtol=0, atol=TOLERANCE
    )
    first_paid = expected.groupby("customer_id")["instant"].min()
    first_rows = actual.groupby("customer_id")["instant"].min()
    assert first_rows.sort_index().equals(first_paid.sort_index())


def test_company_daily_mrr_matches_reference_and_month_ends(tables):
    versions = version_mrr(tables.staging["subscriptions"])
    daily = tables.marts["daily"].copy()
    daily["instant"] = pd.to_datetime(daily["mrr_date"]) + pd.Timedelta(days=1)
    expected = mrr_at_instants(versions, daily["instant"]).groupby("instant")["mrr"].sum()
    assert_close(
        daily["mrr_amount"],
        daily["instant"].map(expected).fillna(0.0),
        "daily mrr",
        rtol=0,
        atol=TOLERANCE,
    )
    monthly = tables.marts["monthly"]
    month_end_mrr = daily.set_index(pd.to_datetime(daily["mrr_date"]))["mrr_amount"]
    assert_close(
        monthly["mrr_amount"],
        pd.to_datetime(monthly["measured_date"]).map(month_end_mrr),
        "month-end day equals month",
        rtol=0,
        atol=TOLERANCE,
    )


def test_monthly_kpis_match_reference(tables):
    expected = reference_months(tables.staging)
    actual = tables.marts["monthly"].copy()
    actual["month_start_date"] = pd.to_datetime(actual["month_start_date"])
    actual = actual.sort_values("month_start_date").reset_index(drop=True)
    assert list(actual["month_start_date"]) == list(expected["month_start_date"])
    pairs = {
        "mrr_amount": "mrr",
        "new_mrr_amount": "new_amount",
        "churned_mrr_amount": "churn_amount",
        "active_customers": "active",
        "new_customers": "new",
        "logo_churn_rate_pct": "logo_churn_rate_pct",
        "gross_mrr_churn_rate_pct": "gross_mrr_churn_rate_pct",
        "grr_pct": "grr_pct",
        "nrr_pct": "nrr_pct",
        "grr_t12m_pct": "grr_t12m_pct",
        "nrr_t12m_pct": "nrr_t12m_pct",
        "arpa_amount": "arpa_amount",
        "cac_amount": "cac_amount",
        "ltv_amount": "ltv_amount",
        "arr_growth_mom_pct": "arr_growth_mom_pct",
    }
    for mart_column, reference_column in pairs.items():
        assert_close(
            actual[mart_column], expected[reference_column], mart_column, rtol=0, atol=TOLERANCE
        )
    assert_close(actual["arr_amount"], expected["mrr"] * 12, "arr", rtol=0, atol=TOLERANCE)


def test_monthly_cac_is_null_exactly_when_no_customer_is_new(tables):
    monthly = tables.marts["monthly"]
    assert (monthly["cac_amount"].isna() == (monthly["new_customers"] == 0)).all()
    acquisition = tables.marts["acquisition"]
    assert (acquisition["cac_amount"].isna() == (acquisition["new_customers"] == 0)).all()


def test_cac_by_channel_attributes_new_customers_to_their_acquisition_channel(tables):
    expected_months = reference_customer_months(tables.staging)
    channels = tables.staging["customers"].set_index("customer_id")["acquisition_channel"]
    new = expected_months[expected_months["movement"] == "new"].assign(
        acquisition_channel=lambda frame: frame["customer_id"].map(channels)
    )
    new_counts = new.groupby(["month_start_date", "acquisition_channel"]).size()
    costs = tables.staging["costs"]
    cost_totals = (
        costs.assign(
            month_start_date=pd.to_datetime(costs["cost_date"]).dt.to_period("M").dt.start_time
        )
        .groupby(["month_start_date", "acquisition_channel"])["amount"]
        .sum()
    )
    actual = tables.marts["acquisition"].copy()
    actual["month_start_date"] = pd.to_datetime(actual["month_start_date"])
    keys = pd.MultiIndex.from_frame(actual[["month_start_date", "acquisition_channel"]])
    expected_new = pd.Series(new_counts.reindex(keys).fillna(0).to_numpy())
    expected_cost = pd.Series(cost_totals.reindex(keys).fillna(0.0).to_numpy())
    assert_close(
        actual["new_customers"], expected_new, "new customers by channel", rtol=0, atol=TOLERANCE
    )
    assert_close(
        actual["acquisition_cost_amount"], expected_cost, "costs by channel", rtol=0, atol=TOLERANCE
    )
    expected_cac = expected_cost / expected_new.where(expected_new != 0)
    assert_close(actual["cac_amount"], expected_cac, "cac by channel", rtol=0, atol=TOLERANCE)
    assert expected_new.sum() == (expected_months["movement"] == "new").sum()


def test_segment_slices_add_up_to_company_totals(tables):
    segments = tables.marts["segments"]
    monthly = tables.marts["monthly"].set_index("month_start_date")
    sums = segments.groupby("month_start_date")[
        ["mrr_amount", "new_customers", "churned_customers", "active_customers"]
    ].sum()
    sums = sums.reindex(monthly.index).fillna(0)
    for column in sums.columns:
        assert_close(sums[column], monthly[column], column, rtol=0, atol=TOLERANCE)


def test_daily_revenue_nets_succeeded_refunds_and_counts_failures_apart(tables):
    transactions = tables.staging["transactions"].copy()
    transactions["revenue_date"] = transactions["created_at"].dt.normalize()
    succeeded = transactions[transactions["status"] == "succeeded"]
    charges = succeeded[succeeded["transaction_type"] == "charge"]
    refunds = succeeded[succeeded["transaction_type"] == "refund"]
    failed = transactions[
        (transactions["status"] == "failed") & (transactions["transaction_type"] == "charge")
    ]
    actual = tables.marts["revenue_daily"].copy()
    days = pd.to_datetime(actual["revenue_date"])
    charge_sum = days.map(charges.groupby("revenue_date")["amount"].sum()).fillna(0.0)
    refund_sum = days.map(refunds.groupby("revenue_date")["amount"].sum()).fillna(0.0)
    charge_count = days.map(charges.groupby("revenue_date").size()).fillna(0)
    payers = days.map(charges.groupby("revenue_date")["customer_id"].nunique()).fillna(0)
    failures = days.map(failed.groupby("revenue_date").size()).fillna(0)
    assert charge_count.sum() > 0
    assert_close(
        actual["revenue_amount"], charge_sum - refund_sum, "revenue", rtol=0, atol=TOLERANCE
    )
    assert_close(
        actual["transaction_count"], charge_count, "transaction count", rtol=0, atol=TOLERANCE
    )
    assert_close(
        actual["average_transaction_amount"],
        charge_sum / charge_count.where(charge_count != 0),
        "average transaction value",
        rtol=0,
        atol=TOLERANCE,
    )
    assert_close(actual["paying_customers"], payers, "paying customers", rtol=0, atol=TOLERANCE)
    assert_close(
        actual["failed_payment_count"], failures, "failed payments", rtol=0, atol=TOLERANCE
    )
    assert actual["revenue_amount"].sum() == pytest.approx(
        charges["amount"].sum() - refunds["amount"].sum()
    ), "every day with a transaction lies in the revenue calendar"


def test_dim_customers_current_mrr_is_the_latest_month_end(tables):
    expected = reference_customer_months(tables.staging)
    latest = expected[expected["month_start_date"] == expected["month_start_date"].max()]
    dim = tables.marts["dim_customers"].set_index("customer_id")
    assert len(dim) == len(tables.staging["customers"])
    current = latest.set_index("customer_id")["mrr"]
    assert_close(
        dim["current_mrr_amount"].reindex(current.index),
        current,
        "current mrr",
        rtol=0,
        atol=TOLERANCE,
    )
    never_paid = dim.index.difference(current.index)
    assert (dim.loc[never_paid, "current_mrr_amount"] == 0).all()
    assert dim.loc[never_paid, "first_paid_month"].isna().all()
