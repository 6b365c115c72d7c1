"""The forecast backtest's coverage and its standard error clustered by cut-off."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from opsmetrics.forecast import models
from opsmetrics.forecast.backtest import (
    CHOSEN,
    clustered_coverage,
    load_note,
    score_slice,
    summarise,
)
from opsmetrics.forecast.series import SERIES

REVENUE = next(spec for spec in SERIES if spec.metric == "revenue")
WEEKLY = np.array([0.0, 6.0, 9.0, 7.0, 3.0, -10.0, -15.0])


def test_clustered_coverage_on_hand_computed_clusters() -> None:
    """Two cut-offs of 10 days, one all inside, one all outside: 50 %; residuals +5 and -5,
    variance 2 / (2 - 1) * (25 + 25) / 20^2 = 0.25, standard error 50 points (a binomial
    error over the 20 days would claim 11). One cluster has no standard error."""
    inside = np.array([4, 6, 0, 0])
    points = np.array([4, 6, 5, 5])
    share, error = clustered_coverage(inside, points, np.array(["a", "a", "b", "b"]))
    assert share == pytest.approx(50.0)
    assert error == pytest.approx(50.0)
    share, error = clustered_coverage(inside, points, np.array(["a"] * 4))
    assert share == pytest.approx(50.0) and np.isnan(error)
    share, error = clustered_coverage(np.zeros(2), np.zeros(2), np.array(["a", "b"]))
    assert np.isnan(share) and np.isnan(error)


def synthetic(seed: int, walk: float) -> pd.Series:
    """730 days of 500 + 0.2 t + weekly pattern + N(0, 4) noise + a random walk of step sd
    `walk` (0: white noise around a known trend)."""
    rng = np.random.default_rng(seed)
    t = np.arange(730)
    values = 500 + 0.2 * t + WEEKLY[t % 7] + rng.normal(0, 4, len(t))
    values = values + np.cumsum(rng.normal(0, walk, len(t)))
    return pd.Series(values, index=pd.date_range("2024-01-01", periods=len(t), freq="D"))


def test_backtest_coverage_of_a_known_noise_is_within_two_standard_errors_of_the_level() -> None:
    """White noise of known sd around a trend and weekly pattern, 12 cut-offs: the chosen
    forecast's pooled coverage is the promised level within 2 clustered standard errors
    (plus 2 points for the finite-sample conformal quantile), at 80 and at 95 %."""
    scores = pd.DataFrame(
        [s.__dict__ for s in score_slice(REVENUE, "all", synthetic(3, 0.0), 30, 12)]
    )
    chosen = scores[scores["model"] == CHOSEN]
    assert chosen["origin"].nunique() == 12
    for level in models.LEVELS:
        share, error = clustered_coverage(
            chosen[f"inside_{level}"].to_numpy(),
            chosen["points"].to_numpy(),
            chosen["origin"].to_numpy(),
        )
        assert abs(share - level) <= 2 * error + 2, (level, share, error)


def test_clustered_error_exceeds_the_binomial_one_when_a_horizon_moves_together() -> None:
    """With a random walk in the series, the days of one cut-off's horizon miss together:
    the clustered standard error is larger than the binomial one over independent days."""
    scores = pd.DataFrame(
        [s.__dict__ for s in score_slice(REVENUE, "all", synthetic(5, 1.5), 30, 12)]
    )
    chosen = scores[scores["model"] == CHOSEN]
    share, error = clustered_coverage(
        chosen["inside_80"].to_numpy(), chosen["points"].to_numpy(), chosen["origin"].to_numpy()
    )
    binomial = np.sqrt(share * (100 - share) / chosen["points"].sum())
    assert error > 1.5 * binomial


def test_summary_reports_each_coverage_with_its_clustered_error_per_family_and_overall() -> None:
    rows = []
    for origin, inside in (("2026-01-01", 10), ("2026-02-01", 0)):
        for model in (CHOSEN, models.SEASONAL_NAIVE):
            rows.append(
                {
                    "series": "revenue (total, day)",
                    "metric": "revenue",
                    "slice_value": "all",
                    "model": model,
                    "origin": origin,
                    "mase": 1.0,
                    "mape": 5.0,
                    "coverage_80": inside * 10.0,
                    "coverage_95": inside * 10.0,
                    "points": 10,
                    "inside_80": inside,
                    "inside_95": inside,
                }
            )
    summary = summarise(pd.DataFrame(rows)).set_index(["series", "model"])
    for series in ("revenue (total, day)", "all series"):
        row = summary.loc[(series, CHOSEN)]
        assert row["coverage_95"] == pytest.approx(50.0)
        assert row["coverage_95_se"] == pytest.approx(50.0)
        assert row["coverage_80_se"] == pytest.approx(50.0)


def test_load_note_blames_other_jobs_only_above_the_core_count() -> None:
    assert "other jobs were running" in load_note([3.5, 2.0], 2)
    assert "not oversubscribed" in load_note([1.2, 0.8], 2)
    assert "unknown" in load_note([1.2, 0.8], None)
    # The bench's machine description records the core count as text.
    assert "other jobs were running" in load_note([7.4, 6.9], "2")
