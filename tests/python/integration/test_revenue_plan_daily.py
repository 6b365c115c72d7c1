"""fct_revenue_plan_daily agrees with an independent pandas attribution of every succeeded
transaction to its subscription's plan (staging tables only), on the tiny data, and its
plans add up to fct_revenue_daily."""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

TOLERANCE = 1e-6


def read(path: Path, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(path), read_only=True) as connection:
        return connection.execute(sql).df()


def reference(transactions: pd.DataFrame, versions: pd.DataFrame) -> pd.DataFrame:
    """Revenue per plan and day: each succeeded transaction takes the plan of its subscription's
    latest version starting at or before it; none → 'unattributed'."""
    settled = transactions[transactions["status"] == "succeeded"].copy()
    plans = []
    by_subscription = {key: group for key, group in versions.groupby("subscription_id")}
    for row in settled.itertuples():
        candidates = by_subscription.get(row.subscription_id)
        plan = "unattributed"
        if candidates is not None:
            started = candidates[candidates["valid_from"] <= row.created_at]
            if len(started):
                latest = started.sort_values(["valid_from", "plan_id"], ascending=[False, True])
                plan = latest["plan_id"].iloc[0]
        plans.append(plan)
    settled["plan_id"] = plans
    settled["revenue_date"] = settled["created_at"].dt.normalize()
    sign = np.where(settled["transaction_type"] == "refund", -1.0, 1.0)
    settled["signed_amount"] = settled["amount"] * sign
    settled["is_charge"] = settled["transaction_type"] == "charge"
    return (
        settled.groupby(["plan_id", "revenue_date"])
        .agg(revenue_amount=("signed_amount", "sum"), transaction_count=("is_charge", "sum"))
        .reset_index()
    )


def test_revenue_by_plan_matches_an_independent_attribution_and_adds_up(
    tiny_warehouse: Path,
) -> None:
    transactions = read(tiny_warehouse, "select * from staging.stg_billing__transactions")
    versions = read(tiny_warehouse, "select * from staging.stg_billing__subscriptions")
    mart = read(tiny_warehouse, "select * from marts.fct_revenue_plan_daily")
    daily = read(tiny_warehouse, "select * from marts.fct_revenue_daily")
    expected = reference(transactions, versions)
    mart["revenue_date"] = pd.to_datetime(mart["revenue_date"])
    joined = expected.merge(
        mart, on=["plan_id", "revenue_date"], how="outer", suffixes=("_expected", "")
    )
    assert len(joined) == len(expected) == len(mart)
    assert joined["plan_id"].nunique() > 1
    assert np.allclose(joined["revenue_amount"], joined["revenue_amount_expected"], atol=TOLERANCE)
    assert (joined["transaction_count"] == joined["transaction_count_expected"]).all()
    totals = mart.groupby("revenue_date")["revenue_amount"].sum()
    daily = daily.set_index(pd.to_datetime(daily["revenue_date"]))["revenue_amount"]
    assert np.allclose(daily.reindex(totals.index), totals, atol=TOLERANCE)
    assert np.isclose(daily.sum(), mart["revenue_amount"].sum(), atol=1e-3)
