"""Customer and product marts agree with an independent pandas computation.

Every expectation is recomputed here from the staging tables alone (events, users,
customers, survey responses, subscription versions), following the definitions in
docs/decisions.md, and compared with the marts built on the tiny generated data.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

ACTIVATION_EVENT = "feature_report_created"
ACTIVATION_WINDOW = pd.Timedelta(days=7)
FUNNEL_WINDOW = pd.Timedelta(days=30)
PAID_STATUSES = ("active", "past_due")
OPEN_ENDED = pd.Timestamp("2200-01-01")  # stands in for valid_to = null (still in force)


def read(warehouse: duckdb.DuckDBPyConnection, relation: str) -> pd.DataFrame:
    return warehouse.execute(f"select * from {relation}").df()


def month_start(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values).dt.to_period("M").dt.to_timestamp()


def months_between(first: pd.Timestamp, last: pd.Timestamp) -> list[pd.Timestamp]:
    return list(pd.date_range(first, last, freq="MS"))


def resolved_events(warehouse: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Events with the user they resolve to: their own, else the first identification of
    their anonymous_id; customer_id through the user."""
    events = read(warehouse, "staging.stg_product__events")
    users = read(warehouse, "staging.stg_app__users")
    identified = events[events["anonymous_id"].notna() & events["user_id"].notna()]
    first = identified.sort_values(["occurred_at", "event_id"]).drop_duplicates("anonymous_id")
    identity = first.set_index("anonymous_id")["user_id"]
    events["resolved_user_id"] = events["user_id"].fillna(events["anonymous_id"].map(identity))
    events["customer_id"] = events["resolved_user_id"].map(
        users.set_index("user_id")["customer_id"]
    )
    events["feature"] = events["event_name"].str.extract(r"^feature_(.+)_[a-z0-9]+$")[0]
    events["day"] = events["occurred_at"].dt.normalize()
    return events


def priced_versions(warehouse: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    versions = read(warehouse, "staging.stg_billing__subscriptions")
    paid = versions["status"].isin(PAID_STATUSES)
    mrr = (
        versions["quantity"]
        * versions["unit_amount"]
        * (1 - versions["discount_percent"].fillna(0) / 100)
        / versions["billing_interval_months"]
    )
    versions["mrr"] = np.where(paid, mrr, 0.0)
    versions["valid_to_filled"] = versions["valid_to"].fillna(OPEN_ENDED)
    return versions


def as_of_date(warehouse: duckdb.DuckDBPyConnection) -> pd.Timestamp:
    """The revenue calendar's last day: the latest billing or acquisition-cost record."""
    (value,) = warehouse.execute(
        """
        select max(d) from (
            select cast(valid_from as date) as d from staging.stg_billing__subscriptions
            union all select cast(created_at as date) from staging.stg_billing__transactions
            union all select cost_date from staging.stg_marketing__acquisition_costs
        ) as dates
        """
    ).fetchone()
    return pd.Timestamp(value)


def month_end_mrr(warehouse: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """MRR per customer and month, point in time at the end of the month's last day (the
    as-of day for the last, incomplete month), for every month up to the as-of month."""
    versions = priced_versions(warehouse)
    as_of = as_of_date(warehouse)
    months = months_between(
        month_start(versions["valid_from"]).min(), as_of.to_period("M").to_timestamp()
    )
    grid = pd.MultiIndex.from_product(
        [sorted(versions["customer_id"].unique()), months], names=["customer_id", "month"]
    )
    mrr = pd.Series(0.0, index=grid, name="mrr")
    for month in months:
        instant = min(month + pd.offsets.MonthBegin(1), as_of + pd.Timedelta(days=1))
        in_force = versions[
            (versions["valid_from"] < instant) & (versions["valid_to_filled"] >= instant)
        ]
        for customer_id, amount in in_force.groupby("customer_id")["mrr"].sum().items():
            mrr[(customer_id, month)] = amount
    return mrr.reset_index()


def assert_mart_matches(
    warehouse: duckdb.DuckDBPyConnection, mart: str, expected: pd.DataFrame, keys: list[str]
) -> None:
    """`mart`'s columns named in `expected` hold its rows (matched on `keys`): dates read
    as timestamps (pandas' months and days), amounts as floats."""
    assert len(expected) > 0, "the tiny data should exercise this KPI"
    actual = read(warehouse, mart)[list(expected.columns)]
    for column in actual.columns:
        if column.endswith("_date"):
            actual[column] = pd.to_datetime(actual[column])
        elif column.endswith("_amount"):
            actual[column] = actual[column].astype(float)
    actual = actual.sort_values(keys).reset_index(drop=True)
    expected = expected.sort_values(keys).reset_index(drop=True)
    pd.testing.assert_frame_equal(actual, expected[actual.columns], check_dtype=False, rtol=1e-6)


def nps_of(categories: pd.Series) -> tuple[int, int, int, int, float]:
    promoters = int((categories == "promoter").sum())
    passives = int((categories == "passive").sum())
    detractors = int((categories == "detractor").sum())
    responses = promoters + passives + detractors
    nps = (promoters - detractors) / responses * 100 if responses else np.nan
    return responses, promoters, passives, detractors, nps


def test_nps_monthly_and_trailing_90_days_match_pandas_for_every_slice(warehouse):
    responses = read(warehouse, "staging.stg_surveys__survey_responses")
    responses = responses[responses["survey_type"] == "nps"].copy()
    customers = read(warehouse, "staging.stg_app__customers").set_index("customer_id")
    versions = priced_versions(warehouse)

    def plan_at(row: pd.Series) -> str:
        in_force = versions[
            (versions["customer_id"] == row["customer_id"])
            & (versions["valid_from"] <= row["submitted_at"])
            & (versions["valid_to_filled"] > row["submitted_at"])
        ]
        if in_force.empty:
            return "none"
        return in_force.sort_values(["mrr", "plan_id"], ascending=[False, True]).iloc[0]["plan_id"]

    responses["category"] = pd.cut(
        responses["score"], [-1, 6, 8, 10], labels=["detractor", "passive", "promoter"]
    ).astype(str)
    responses["day"] = responses["submitted_at"].dt.normalize()
    responses["overall"] = "all"
    responses["segment"] = responses["customer_id"].map(customers["segment"]).fillna("unknown")
    responses["country"] = responses["customer_id"].map(customers["country_code"]).fillna("unknown")
    responses["plan"] = responses.apply(plan_at, axis=1)

    rows = []
    months = months_between(
        month_start(responses["day"]).min(), month_start(responses["day"]).max()
    )
    for dimension in ("overall", "segment", "plan", "country"):
        for value, group in responses.groupby(dimension):
            for month in months:
                month_end = month + pd.offsets.MonthEnd(0)
                in_month = group[(group["day"] >= month) & (group["day"] <= month_end)]
                trailing = group[
                    (group["day"] <= month_end) & (group["day"] > month_end - pd.Timedelta(days=90))
                ]
                if trailing.empty:
                    continue
                monthly = nps_of(in_month["category"])
                rolling = nps_of(trailing["category"])
                rows.append((dimension, value, month, *monthly, rolling[0], rolling[4]))
    expected = pd.DataFrame(
        rows,
        columns=[
            "dimension_name", "dimension_value", "month_start_date", "responses", "promoters",
            "passives", "detractors", "nps", "trailing_90d_responses", "trailing_90d_nps",
        ],
    )  # fmt: skip
    keys = ["dimension_name", "dimension_value", "month_start_date"]
    assert_mart_matches(warehouse, "marts.fct_nps_monthly", expected, keys)


def test_csat_score_and_pct_match_pandas_per_month_and_segment(warehouse):
    responses = read(warehouse, "staging.stg_surveys__survey_responses")
    responses = responses[responses["survey_type"] == "csat"].copy()
    customers = read(warehouse, "staging.stg_app__customers").set_index("customer_id")
    responses["month_start_date"] = month_start(responses["submitted_at"])
    responses["satisfied"] = responses["score"] >= 4
    responses["overall"] = "all"
    responses["segment"] = responses["customer_id"].map(customers["segment"]).fillna("unknown")
    frames = []
    for dimension in ("overall", "segment"):
        grouped = responses.groupby([dimension, "month_start_date"]).agg(
            responses=("score", "size"),
            satisfied_responses=("satisfied", "sum"),
            csat_score=("score", "mean"),
            csat_pct=("satisfied", "mean"),
        )
        grouped = grouped.reset_index().rename(columns={dimension: "dimension_value"})
        grouped["dimension_name"] = dimension
        frames.append(grouped)
    expected = pd.concat(frames)
    expected["csat_pct"] = expected["csat_pct"] * 100
    keys = ["dimension_name", "dimension_value", "month_start_date"]
    assert_mart_matches(warehouse, "marts.fct_csat_monthly", expected, keys)


def test_events_before_and_after_identification_resolve_to_the_same_user(warehouse):
    events = resolved_events(warehouse)
    stitched = events["user_id"].isna() & events["resolved_user_id"].notna()
    assert stitched.any(), "the tiny data should carry anonymous events that get stitched"
    expected = events[["event_id", "resolved_user_id", "customer_id"]].rename(
        columns={"resolved_user_id": "user_id"}
    )
    assert_mart_matches(warehouse, "marts.fct_events", expected, ["event_id"])


def users_with_activation(warehouse: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    users = read(warehouse, "staging.stg_app__users")
    events = resolved_events(warehouse)
    reports = events[events["event_name"] == ACTIVATION_EVENT].merge(
        users[["user_id", "created_at"]], left_on="resolved_user_id", right_on="user_id"
    )
    inside = reports[
        (reports["occurred_at"] >= reports["created_at"])
        & (reports["occurred_at"] <= reports["created_at"] + ACTIVATION_WINDOW)
    ]
    users["is_activated"] = users["user_id"].isin(inside["resolved_user_id"])
    users["month_start_date"] = month_start(users["created_at"])
    return users


def test_new_users_growth_and_activation_rate_match_pandas(warehouse):
    users = users_with_activation(warehouse)
    assert users["is_activated"].any() and not users["is_activated"].all()
    months = months_between(users["month_start_date"].min(), users["month_start_date"].max())
    grouped = users.groupby("month_start_date").agg(
        new_users=("user_id", "size"), activated_users=("is_activated", "sum")
    )
    expected = grouped.reindex(months, fill_value=0).rename_axis("month_start_date").reset_index()
    previous = expected["new_users"].shift(1)
    expected["new_users_growth_rate"] = (expected["new_users"] - previous) / previous.replace(
        0, np.nan
    )
    expected["activation_rate"] = expected["activated_users"] / expected["new_users"].replace(
        0, np.nan
    )
    keys = ["month_start_date"]
    assert_mart_matches(warehouse, "marts.fct_user_adoption_monthly", expected, keys)


def test_dau_wau_mau_and_stickiness_match_pandas_rolling_windows(warehouse):
    events = resolved_events(warehouse)
    active = events.loc[
        events["resolved_user_id"].notna(), ["resolved_user_id", "day"]
    ].drop_duplicates()
    rows = []
    for day in pd.date_range(active["day"].min(), active["day"].max(), freq="D"):

        def users_within(days: int, day: pd.Timestamp = day) -> int:
            window = active[
                (active["day"] <= day) & (active["day"] > day - pd.Timedelta(days=days))
            ]
            return window["resolved_user_id"].nunique()

        dau, wau, mau = users_within(1), users_within(7), users_within(30)
        rows.append((day, dau, wau, mau, dau / mau if mau else np.nan))
    expected = pd.DataFrame(
        rows,
        columns=["activity_date", "daily_active_users", "weekly_active_users",
                 "monthly_active_users", "stickiness_ratio"],
    )  # fmt: skip
    assert_mart_matches(warehouse, "marts.fct_active_users_daily", expected, ["activity_date"])


def test_feature_adoption_matches_pandas_share_of_paying_customers(warehouse):
    events = resolved_events(warehouse)
    mrr = month_end_mrr(warehouse)
    events["month"] = month_start(events["occurred_at"])
    usage = events[events["feature"].notna() & events["customer_id"].notna()]
    months = months_between(events["month"].min(), events["month"].max())
    paying = mrr[(mrr["mrr"] > 0) & mrr["month"].isin(months)]
    rows = []
    for month, customers in paying.groupby("month")["customer_id"]:
        active = set(customers)
        for feature in sorted(usage["feature"].unique()):
            used = usage[(usage["feature"] == feature) & (usage["month"] == month)]
            adopting = len(active & set(used["customer_id"]))
            rows.append((feature, month, len(active), adopting, adopting / len(active)))
    expected = pd.DataFrame(
        rows,
        columns=["feature_name", "month_start_date", "active_customers",
                 "adopting_customers", "feature_adoption_rate"],
    )  # fmt: skip
    keys = ["feature_name", "month_start_date"]
    assert_mart_matches(warehouse, "marts.fct_feature_adoption_monthly", expected, keys)


def test_cohort_logo_and_revenue_retention_match_pandas(warehouse):
    mrr = month_end_mrr(warehouse)
    cohorts = mrr[mrr["mrr"] > 0].groupby("customer_id")["month"].min().rename("cohort")
    tracked = mrr.merge(cohorts, left_on="customer_id", right_index=True)
    tracked = tracked[tracked["month"] >= tracked["cohort"]]
    grouped = tracked.groupby(["cohort", "month"]).agg(
        retained_customers=("mrr", lambda values: int((values > 0).sum())),
        mrr_amount=("mrr", "sum"),
    )
    expected = grouped.reset_index()
    starts = expected[expected["cohort"] == expected["month"]].set_index("cohort")
    expected["cohort_customers"] = expected["cohort"].map(starts["retained_customers"])
    expected["logo_retention_rate"] = expected["retained_customers"] / expected["cohort_customers"]
    expected["revenue_retention_rate"] = expected["mrr_amount"] / expected["cohort"].map(
        starts["mrr_amount"]
    )
    assert (expected["logo_retention_rate"] < 1).any(), "the tiny data should have churn"
    expected = expected.rename(
        columns={"cohort": "cohort_month_start_date", "month": "month_start_date"}
    )
    keys = ["cohort_month_start_date", "month_start_date"]
    assert_mart_matches(warehouse, "marts.fct_cohort_retention", expected, keys)


def test_signup_funnel_conversion_matches_pandas_per_cohort_and_channel(warehouse):
    users = users_with_activation(warehouse)
    customers = read(warehouse, "staging.stg_app__customers").set_index("customer_id")
    versions = priced_versions(warehouse)
    first_paid = versions[versions["mrr"] > 0].groupby("customer_id")["valid_from"].min()
    users["channel"] = users["customer_id"].map(customers["acquisition_channel"]).fillna("unknown")
    paid_by = users["customer_id"].map(first_paid)
    users["is_paid"] = users["is_activated"] & (paid_by <= users["created_at"] + FUNNEL_WINDOW)
    expected = (
        users.groupby(["month_start_date", "channel"])
        .agg(
            signed_up_users=("user_id", "size"),
            activated_users=("is_activated", "sum"),
            paid_users=("is_paid", "sum"),
        )
        .reset_index()
        .rename(
            columns={
                "month_start_date": "cohort_month_start_date",
                "channel": "acquisition_channel",
            }
        )
    )
    assert expected["paid_users"].sum() > 0
    expected["overall_conversion_rate"] = expected["paid_users"] / expected["signed_up_users"]
    keys = ["cohort_month_start_date", "acquisition_channel"]
    assert_mart_matches(warehouse, "marts.fct_signup_funnel_monthly", expected, keys)
