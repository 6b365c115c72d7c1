"""Customers at risk of churning: a monthly churn probability per active customer.

One row per customer and month M (active at the end of M) holds features known at the end
of M; the label is "churned in month M + 1" (MRR 0 at the end of M + 1,
`mrr_movement_type = 'churn'`). A ridge-penalised logistic regression (statsmodels GLM,
binomial family) is trained on every month whose label is known and scores the active
customers of the scored month. Each score lists the features that raise it most above
the average customer's (coefficient x standardised deviation).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
import pandas as pd

MODEL = "logit_ridge"
BASELINE = "contracted_last_month"
RIDGE_ALPHA = 0.01
MIN_TRAINING_MONTHS = 4
MIN_TRAINING_CHURNS = 5
TOP_FEATURES = 3

CUSTOMER_MONTHS_SQL = """
    select
        customer_id,
        plan_id,
        mrr_movement_type,
        cast(mrr_amount as double precision) as mrr_amount,
        cast(contraction_mrr_amount as double precision) as contraction_mrr_amount,
        cast(paying_subscription_count as double precision) as paying_subscription_count,
        is_active,
        is_month_complete,
        month_start_date
    from marts.fct_customer_mrr_monthly
"""
EVENTS_SQL = """
    select
        customer_id,
        cast(date_trunc('month', occurred_date) as date) as month_start_date,
        cast(count(event_id) as double precision) as events,
        cast(count(distinct feature_name) as double precision) as features_used
    from marts.fct_events
    where customer_id is not null
    group by customer_id, cast(date_trunc('month', occurred_date) as date)
"""
SURVEYS_SQL = """
    select
        customer_id,
        cast(date_trunc('month', submitted_date) as date) as month_start_date,
        avg(case when survey_type = 'nps' then cast(score as double precision) end) as nps_score,
        avg(case when survey_type = 'csat' then cast(score as double precision) end)
            as csat_score
    from marts.fct_survey_responses
    where customer_id is not null
    group by customer_id, cast(date_trunc('month', submitted_date) as date)
"""
# Payment failures per customer exist only in billing staging (no mart holds them per
# customer): read from the staged, validated transactions (docs/decisions.md).
PAYMENTS_SQL = """
    select
        customer_id,
        cast(date_trunc('month', created_at) as date) as month_start_date,
        cast(count(case when status = 'failed' then 1 end) as double precision)
            as failed_payments
    from staging.stg_billing__transactions
    where transaction_type = 'charge'
    group by customer_id, cast(date_trunc('month', created_at) as date)
"""

FEATURES = (
    "log_mrr",
    "mrr_change_3m",
    "contracted_last_month",
    "contractions_3m",
    "subscriptions",
    "tenure_months",
    "log_events",
    "usage_trend",
    "features_used",
    "nps_last",
    "nps_missing",
    "csat_last",
    "csat_missing",
    "failed_payments_3m",
)


def build_features(
    months: pd.DataFrame, events: pd.DataFrame, surveys: pd.DataFrame, payments: pd.DataFrame
) -> pd.DataFrame:
    """Customer-month rows (active at the month end) with FEATURES, plan dummies and the
    label `churned_next_month` (NaN where month M + 1 is not complete yet)."""
    frame = months.copy()
    frame["month_start_date"] = pd.to_datetime(frame["month_start_date"])
    for other in (events, surveys, payments):
        other["month_start_date"] = pd.to_datetime(other["month_start_date"])
    frame = frame.sort_values(["customer_id", "month_start_date"])
    frame = frame.merge(events, on=["customer_id", "month_start_date"], how="left")
    frame = frame.merge(surveys, on=["customer_id", "month_start_date"], how="left")
    frame = frame.merge(payments, on=["customer_id", "month_start_date"], how="left")
    by_customer = frame.groupby("customer_id", sort=False)
    frame["events"] = frame["events"].fillna(0.0)
    frame["features_used"] = frame["features_used"].fillna(0.0)
    frame["failed_payments"] = frame["failed_payments"].fillna(0.0)
    frame["log_mrr"] = np.log1p(frame["mrr_amount"])
    mrr_3m_ago = by_customer["mrr_amount"].shift(3)
    frame["mrr_change_3m"] = (
        ((frame["mrr_amount"] - mrr_3m_ago) / mrr_3m_ago.where(mrr_3m_ago > 0))
        .fillna(0.0)
        .clip(-1, 3)
    )
    contracted = (frame["mrr_movement_type"] == "contraction").astype(float)
    frame["contracted_last_month"] = contracted
    frame["contractions_3m"] = _rolling_sum(frame, contracted, 3)
    frame["subscriptions"] = frame["paying_subscription_count"].fillna(0.0)
    frame["tenure_months"] = by_customer.cumcount().astype(float)
    frame["log_events"] = np.log1p(frame["events"])
    earlier = pd.concat(
        [by_customer["events"].shift(1), by_customer["events"].shift(2)], axis=1
    ).mean(axis=1)
    frame["usage_trend"] = (frame["log_events"] - np.log1p(earlier)).fillna(0.0)
    frame["failed_payments_3m"] = _rolling_sum(frame, frame["failed_payments"], 3)
    for survey in ("nps", "csat"):
        last = frame.groupby("customer_id", sort=False)[f"{survey}_score"].ffill()
        frame[f"{survey}_missing"] = last.isna().astype(float)
        frame[f"{survey}_last"] = last.fillna(last.mean() if last.notna().any() else 0.0)
    next_type = by_customer["mrr_movement_type"].shift(-1)
    next_complete = by_customer["is_month_complete"].shift(-1)
    label = (next_type == "churn").astype(float)
    frame["churned_next_month"] = label.where(next_complete.fillna(False).astype(bool))
    active = frame["is_active"].astype(bool) & frame["is_month_complete"].astype(bool)
    frame = frame[active].copy()
    frame["plan_id"] = frame["plan_id"].fillna("none")
    return frame.reset_index(drop=True)


def _rolling_sum(frame: pd.DataFrame, values: pd.Series, window: int) -> pd.Series:
    return (
        values.groupby(frame["customer_id"], sort=False)
        .rolling(window, min_periods=1)
        .sum()
        .reset_index(level=0, drop=True)
        .reindex(frame.index)
    )


@dataclass
class ChurnModel:
    """A fitted score: feature columns, their training means and deviations, weights."""

    columns: list[str]
    mean: pd.Series
    scale: pd.Series
    params: np.ndarray

    def design(self, frame: pd.DataFrame) -> np.ndarray:
        x = _columns(frame, self.columns)
        standard = (x - self.mean) / self.scale
        return np.column_stack([np.ones(len(frame)), standard.to_numpy(dtype=float)])

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        return 1 / (1 + np.exp(-self.design(frame) @ self.params))

    def top_features(self, frame: pd.DataFrame, count: int = TOP_FEATURES) -> list[str]:
        """Per row, the features adding most to the log-odds (positive contributions)."""
        contributions = self.design(frame)[:, 1:] * self.params[1:]
        names = np.array(self.columns)
        tops = []
        for row in contributions:
            order = np.argsort(-row)[:count]
            tops.append(", ".join(names[i] for i in order if row[i] > 0))
        return tops


def _plan_columns(frame: pd.DataFrame) -> list[str]:
    plans = sorted(frame["plan_id"].unique())
    return [f"plan_{plan}" for plan in plans[1:]]


def _columns(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    data = {}
    for column in columns:
        if column.startswith("plan_"):
            data[column] = (frame["plan_id"] == column.removeprefix("plan_")).astype(float)
        else:
            data[column] = frame[column].astype(float)
    return pd.DataFrame(data, index=frame.index)


def fit_model(training: pd.DataFrame) -> ChurnModel:
    """Ridge-penalised logistic regression on standardised features (statsmodels GLM)."""
    import statsmodels.api as sm

    columns = [*FEATURES, *_plan_columns(training)]
    x = _columns(training, columns)
    mean, scale = x.mean(), x.std().replace(0, 1.0).fillna(1.0)
    model = ChurnModel(columns, mean, scale, np.zeros(len(columns) + 1))
    glm = sm.GLM(
        training["churned_next_month"].to_numpy(dtype=float),
        model.design(training),
        family=sm.families.Binomial(),
    )
    fitted = glm.fit_regularized(alpha=RIDGE_ALPHA, L1_wt=0.0)
    model.params = np.asarray(fitted.params, dtype=float)
    return model


def auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney U with tied ranks averaged)."""
    from scipy.stats import rankdata

    positives = labels == 1
    n_pos, n_neg = positives.sum(), (~positives).sum()
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(scores)
    return float((ranks[positives].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def precision_at_top(labels: np.ndarray, scores: np.ndarray, share: float = 0.1) -> float:
    """Share of churners among the `share` highest scores (ties broken by a fixed random
    order, so a binary baseline is not flattered by row order)."""
    count = max(1, round(len(scores) * share))
    tiebreak = np.random.default_rng(0).random(len(scores))
    order = np.lexsort((tiebreak, -scores))[:count]
    return float(labels[order].mean())


class ChurnError(ValueError):
    """Too little labelled history to train a score (reported, nothing written)."""


def score_month(features: pd.DataFrame, month: date) -> tuple[ChurnModel, pd.DataFrame]:
    """Train on the months before `month` with known labels; score `month`'s customers."""
    month_ts = pd.Timestamp(month)
    training = features[
        (features["month_start_date"] < month_ts) & features["churned_next_month"].notna()
    ]
    months = training["month_start_date"].nunique()
    churns = int(training["churned_next_month"].sum()) if len(training) else 0
    if months < MIN_TRAINING_MONTHS or churns < MIN_TRAINING_CHURNS:
        raise ChurnError(
            f"not enough history to score churn for {month:%Y-%m}: {months} labelled months "
            f"and {churns} churns before it ({MIN_TRAINING_MONTHS} and {MIN_TRAINING_CHURNS} "
            "needed)"
        )
    model = fit_model(training)
    scored = features[features["month_start_date"] == month_ts].copy()
    scored["churn_probability"] = model.predict(scored)
    scored["top_features"] = model.top_features(scored)
    return model, scored


def risk_bands(probability: pd.Series) -> pd.Series:
    """'high' for the top decile of the month's scores, 'medium' the next two, else 'low'."""
    rank = probability.rank(pct=True, method="first")
    return pd.Series(
        np.where(rank > 0.9, "high", np.where(rank > 0.7, "medium", "low")), index=probability.index
    )


def read_features(warehouse: object) -> pd.DataFrame:
    """The feature table from the marts (and billing staging for payment failures)."""
    return build_features(
        warehouse.query(CUSTOMER_MONTHS_SQL),
        warehouse.query(EVENTS_SQL),
        warehouse.query(SURVEYS_SQL),
        warehouse.query(PAYMENTS_SQL),
    )


def churn_rows(scored: pd.DataFrame, run_at: datetime) -> pd.DataFrame:
    """The customer_churn_risk rows of a scored month."""
    return pd.DataFrame(
        {
            "customer_id": scored["customer_id"],
            "scored_month": scored["month_start_date"].dt.date,
            "churn_probability": scored["churn_probability"],
            "risk_band": risk_bands(scored["churn_probability"]),
            "top_features": scored["top_features"],
            "model": MODEL,
            "run_at": run_at,
            "plan_id": scored["plan_id"],
            "mrr_amount": scored["mrr_amount"],
        }
    )


@dataclass(frozen=True)
class BacktestMonth:
    """Scores of one held-out month: model vs the naive baseline."""

    month: date
    customers: int
    churners: int
    auc: float
    baseline_auc: float
    precision_top_decile: float
    baseline_precision_top_decile: float


def backtest(features: pd.DataFrame, months: list[date]) -> list[BacktestMonth]:
    """Time-split backtest: for each month T, train before T, score T, compare with the
    baseline 'contracted last month' on the same customers. Months with too little
    history before them to train are left out."""
    results = []
    for month in months:
        try:
            _, scored = score_month(features, month)
        except ChurnError:
            continue
        scored = scored[scored["churned_next_month"].notna()]
        labels = scored["churned_next_month"].to_numpy(dtype=float)
        model_scores = scored["churn_probability"].to_numpy(dtype=float)
        baseline_scores = scored["contracted_last_month"].to_numpy(dtype=float)
        results.append(
            BacktestMonth(
                month=month,
                customers=len(scored),
                churners=int(labels.sum()),
                auc=auc(labels, model_scores),
                baseline_auc=auc(labels, baseline_scores),
                precision_top_decile=precision_at_top(labels, model_scores),
                baseline_precision_top_decile=precision_at_top(labels, baseline_scores),
            )
        )
    return results


def scored_month_for(features: pd.DataFrame, as_of: date) -> date:
    """The last month complete by `as_of` that holds active customers."""
    from opsmetrics.forecast.series import last_complete_month

    latest = pd.Timestamp(last_complete_month(as_of))
    months = features.loc[features["month_start_date"] <= latest, "month_start_date"]
    if months.empty:
        raise ChurnError(f"no complete month with active customers on or before {as_of}")
    return months.max().date()
