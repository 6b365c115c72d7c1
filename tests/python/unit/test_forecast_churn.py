"""The churn-risk score: its measures on hand-computed cases and a synthetic signal it
must find (and the naive baseline must not beat)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from opsmetrics.forecast import churn


def test_auc_matches_hand_computed_pairs_with_ties() -> None:
    labels = np.array([1, 0, 1, 0, 0])
    scores = np.array([0.9, 0.8, 0.3, 0.3, 0.1])
    # Pairs (positive, negative): 0.9 beats all 3; 0.3 beats 0.1, ties 0.3 (half) and
    # loses to 0.8: (3 + 1.5) / 6.
    assert churn.auc(labels, scores) == pytest.approx(4.5 / 6)
    assert np.isnan(churn.auc(np.zeros(3), np.arange(3.0)))


def test_precision_at_top_decile() -> None:
    labels = np.array([1] * 3 + [0] * 27)
    scores = np.r_[np.array([0.9, 0.8, 0.1]), np.full(27, 0.2)]
    assert churn.precision_at_top(labels, scores) == pytest.approx(2 / 3)


def synthetic_months(customers: int = 1000, months: int = 10, seed: int = 5) -> pd.DataFrame:
    """Customer months where churn follows falling usage and failed payments, as the
    generator makes it; the raw mart columns build_features expects."""
    rng = np.random.default_rng(seed)
    rows, events, payments = [], [], []
    for customer in range(customers):
        usage = rng.lognormal(4, 0.5)
        gone = False
        for month in range(months):
            start = pd.Timestamp(2024, 1, 1) + pd.DateOffset(months=month)
            if gone:
                rows.append((f"c{customer}", "growth", "churn" if gone == 1 else "inactive",
                             0.0, 0.0, 0.0, False, True, start))  # fmt: skip
                gone = 2
                continue
            failed = rng.random() < 0.08
            fading = rng.random() < 0.1
            usage *= 0.3 if fading else 1.0
            risk = -4.0 + 3.5 * fading + 3.0 * failed
            rows.append((f"c{customer}", "growth", "unchanged", 100.0, 0.0, 1.0, True, True, start))
            events.append((f"c{customer}", start, float(rng.poisson(usage)), 3.0))
            payments.append((f"c{customer}", start, float(failed)))
            gone = 1 if rng.random() < 1 / (1 + np.exp(-risk)) else False
    columns = ["customer_id", "plan_id", "mrr_movement_type", "mrr_amount",
               "contraction_mrr_amount", "paying_subscription_count", "is_active",
               "is_month_complete", "month_start_date"]  # fmt: skip
    return churn.build_features(
        pd.DataFrame(rows, columns=columns),
        pd.DataFrame(
            events, columns=["customer_id", "month_start_date", "events", "features_used"]
        ),
        pd.DataFrame(columns=["customer_id", "month_start_date", "nps_score", "csat_score"]),
        pd.DataFrame(payments, columns=["customer_id", "month_start_date", "failed_payments"]),
    )


def test_model_finds_a_planted_signal_that_the_naive_baseline_misses() -> None:
    features = synthetic_months()
    results = churn.backtest(features, [date(2024, 7, 1), date(2024, 8, 1)])
    for month in results:
        assert month.churners > 0
        assert month.auc > 0.7
        assert month.auc > month.baseline_auc
    _, scored = churn.score_month(features, date(2024, 8, 1))
    assert scored["churn_probability"].between(0, 1).all()
    risky = scored.sort_values("churn_probability").iloc[-1]["top_features"]
    assert "usage_trend" in risky or "failed_payments_3m" in risky or "log_events" in risky


def test_labels_are_unknown_for_the_last_month_and_training_needs_history() -> None:
    features = synthetic_months(customers=50, months=3)
    last = features["month_start_date"].max()
    assert features.loc[features["month_start_date"] == last, "churned_next_month"].isna().all()
    with pytest.raises(churn.ChurnError, match="not enough history"):
        churn.score_month(features, last.date())


def test_risk_bands_are_deciles() -> None:
    bands = churn.risk_bands(pd.Series(np.arange(100.0)))
    assert (bands == "high").sum() == 10 and (bands == "medium").sum() == 20
