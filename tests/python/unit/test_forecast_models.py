"""The forecasting models and series preparation on synthetic series with known answers."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from opsmetrics.forecast import models
from opsmetrics.forecast.run import (
    NOT_ENOUGH_HISTORY,
    OK,
    ForecastError,
    Threshold,
    crossing_rows,
    forecast_slice,
    parse_as_of,
    select_specs,
)
from opsmetrics.forecast.series import SERIES, month_end_steps, observed_count, prepare

WEEKLY = np.array([0.0, 6.0, 9.0, 7.0, 3.0, -10.0, -15.0])
AS_OF = date(2025, 6, 30)
REVENUE = next(spec for spec in SERIES if spec.metric == "revenue")
LATENCY = next(spec for spec in SERIES if spec.metric == "latency_p95_ms")
CPU = next(spec for spec in SERIES if spec.metric == "cpu_utilization")


def trend_season(n: int, noise: float = 1.0, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """n observed days of 100 + 0.5 t + a weekly pattern + N(0, noise), and the next 28
    days of the noiseless truth."""
    rng = np.random.default_rng(seed)
    t = np.arange(n + 28)
    truth = 100 + 0.5 * t + WEEKLY[t % 7]
    return truth[:n] + rng.normal(0, noise, n), truth[n:]


def rows_for(values: np.ndarray, end: date = AS_OF) -> pd.DataFrame:
    days = [end - timedelta(days=len(values) - 1 - i) for i in range(len(values))]
    return pd.DataFrame({"slice_value": "all", "period_date": days, "value": values})


def assert_ordered(prediction: models.Prediction) -> None:
    stacked = np.stack(
        [
            prediction.lower_95,
            prediction.lower_80,
            prediction.point,
            prediction.upper_80,
            prediction.upper_95,
        ]
    )
    assert np.isfinite(stacked).all()
    assert (np.diff(stacked, axis=0) >= -1e-9).all()


def test_ets_recovers_trend_and_weekly_seasonality_within_tolerance() -> None:
    y, truth = trend_season(140)
    prediction = models.fit_ets(y, 28, 7).prediction
    assert np.max(np.abs(prediction.point - truth)) < 3.0
    # Whole weeks cancel the seasonal pattern: week 4's mean minus week 1's is 21 slopes.
    slope = (prediction.point[21:].mean() - prediction.point[:7].mean()) / 21
    assert slope == pytest.approx(0.5, abs=0.05)
    weekly = prediction.point[:7] - 0.5 * np.arange(7)
    expected = WEEKLY[np.arange(140, 147) % 7]
    assert np.abs((weekly - weekly.mean()) - (expected - expected.mean())).max() < 2.0
    assert_ordered(prediction)


def test_ets_beats_seasonal_naive_on_a_trending_series_and_is_chosen() -> None:
    y, _ = trend_season(140)
    choice = models.forecast(y, 28, 7, 84).choice
    assert choice.model == models.ETS
    assert choice.mase[models.ETS] < choice.mase[models.SEASONAL_NAIVE]


def test_intervals_widen_with_the_horizon_for_both_models() -> None:
    rng = np.random.default_rng(3)
    walk = 200 + np.cumsum(rng.normal(0.2, 2.0, 120)) + WEEKLY[np.arange(120) % 7]
    for model in models.MODELS:
        prediction = models.fit(model, walk, 30, 7).prediction
        width = prediction.upper_95 - prediction.lower_95
        assert width[-1] > width[0] * 1.5, model
        assert (np.diff(width) >= -1e-6).all(), model
        inner = prediction.upper_80 - prediction.lower_80
        assert (inner < width).all(), model
        assert_ordered(prediction)


def test_constant_series_forecasts_the_constant_without_spread() -> None:
    result = forecast_slice(REVENUE, "all", rows_for(np.full(90, 42.0)), AS_OF, 30)
    assert result.status == OK
    prediction = result.prediction
    assert np.allclose(prediction.point, 42.0)
    assert np.allclose(prediction.lower_95, 42.0) and np.allclose(prediction.upper_95, 42.0)


def test_gaps_are_interpolated_and_only_measured_days_count_as_history() -> None:
    y, _ = trend_season(120)
    rows = rows_for(y)
    with_gaps = rows.drop(index=[30, 31, 32, 70]).reset_index(drop=True)
    series = prepare(with_gaps, LATENCY, AS_OF)
    assert len(series) == 120 and not series.isna().any()
    assert series.iloc[31] == pytest.approx((y[29] + y[33]) / 2, rel=0.02)
    assert observed_count(with_gaps, AS_OF) == 116
    result = forecast_slice(LATENCY, "all", with_gaps, AS_OF, 30)
    assert result.status == OK and len(result.dates) == 30
    assert_ordered(result.prediction)


def test_sparse_series_with_a_long_span_is_not_enough_history() -> None:
    y, _ = trend_season(120)
    every_third = rows_for(y).iloc[::3].reset_index(drop=True)
    result = forecast_slice(LATENCY, "all", every_third, AS_OF, 30)
    assert result.status == NOT_ENOUGH_HISTORY
    assert result.prediction is None
    assert "40 days of history, 56 needed" in result.message


def test_too_short_series_gives_not_enough_history_not_a_forecast() -> None:
    y, _ = trend_season(55)
    result = forecast_slice(REVENUE, "all", rows_for(y), AS_OF, 30)
    assert result.status == NOT_ENOUGH_HISTORY
    assert result.prediction is None and result.dates == []
    assert "55 days of history, 56 needed" in result.message


def test_zero_filled_series_treats_a_missing_day_as_zero() -> None:
    rows = rows_for(np.full(60, 5.0)).drop(index=[10]).reset_index(drop=True)
    series = prepare(rows, REVENUE, AS_OF)
    assert series.iloc[10] == 0.0


def test_forecast_is_kept_inside_the_metric_range() -> None:
    y = np.clip(np.linspace(70, 99.5, 120) + WEEKLY[np.arange(120) % 7] / 3, 0, 100)
    result = forecast_slice(CPU, "api", rows_for(y), AS_OF, 90)
    assert result.prediction.upper_95.max() <= 100.0
    assert_ordered(result.prediction)


def test_threshold_crossing_band_brackets_the_point_crossing() -> None:
    y = np.linspace(40, 70, 120) + WEEKLY[np.arange(120) % 7] / 5
    result = forecast_slice(CPU, "api", rows_for(y), AS_OF, 90)
    warning = Threshold("warning", 75.0, "lower_is_better", "test")
    never = Threshold("critical", 1000.0, "lower_is_better", "test")
    row, beyond = crossing_rows(result, [warning, never], AS_OF, pd.Timestamp("2025-07-01"))
    assert row["crossing_date_earliest"] <= row["crossing_date"]
    assert (
        row["crossing_date_latest"] is None or row["crossing_date"] <= row["crossing_date_latest"]
    )
    point = result.prediction.point
    first = int(np.flatnonzero(point >= 75.0)[0])
    assert row["crossing_date"] == result.dates[first]
    assert point[first - 1] < 75.0 if first else True
    assert beyond["crossing_date"] is None and beyond["crossing_date_earliest"] is None


def test_month_end_steps_are_the_month_ends_within_the_horizon() -> None:
    assert month_end_steps(date(2025, 6, 30), 92) == [31, 62, 92]
    assert month_end_steps(date(2025, 6, 15), 50) == [15, 46]
    assert month_end_steps(date(2025, 6, 15), 10) == [15]


def test_unknown_metric_and_bad_as_of_are_clear_errors() -> None:
    with pytest.raises(ForecastError, match="unknown metric nope"):
        select_specs(["nope"])
    with pytest.raises(ForecastError, match="is not a date"):
        parse_as_of("2025-02-30")
    assert {spec.metric for spec in select_specs(["cpu_utilization"])} == {"cpu_utilization"}


def test_accuracy_measures_on_hand_computed_values() -> None:
    actual = np.array([10.0, 20.0, 0.0])
    point = np.array([12.0, 15.0, 1.0])
    assert models.mape(actual, point) == pytest.approx((0.2 + 0.25) / 2 * 100)
    assert models.mase(actual, point, 2.0) == pytest.approx((2 + 5 + 1) / 3 / 2)
    assert models.mase_scale(np.array([1.0, 2.0, 4.0, 8.0]), 2) == pytest.approx(4.5)
    band = models.Prediction("x", point, point - 1, point + 1, point - 3, point + 4)
    assert models.coverage(actual, band, 80) == pytest.approx(100 / 3)
    assert models.coverage(actual, band, 95) == pytest.approx(200 / 3)


def test_horizon_mase_weighs_every_horizon_step_the_same() -> None:
    """Step 1 is observed from 4 origins with |error| 1, step 2 from only the first origin
    with |error| 9: pooled, the mean would be (4 + 9) / 5 = 2.6; per step it is (1 + 9) / 2.
    Origins before `first` do not count."""
    errors = np.array(
        [
            [100.0, 100.0],
            [1.0, -9.0],
            [-1.0, np.nan],
            [1.0, np.nan],
            [-1.0, np.nan],
        ]
    )
    line = np.zeros(2)
    fit = models.Fit(models.Prediction("x", *(line for _ in range(5))), np.arange(5), errors)
    assert models.horizon_mase(fit, 1, 2.0) == pytest.approx((1 + 9) / 2 / 2)
    assert np.isnan(models.horizon_mase(fit, 1, 0.0))
    assert np.isnan(models.horizon_mase(fit, 5, 2.0))


def damped_trend_series(seed: int, n: int = 400) -> np.ndarray:
    """A trend that fades: b[t] = 0.9 b[t - 1] + N(0, 0.3), level l[t] = l[t - 1] + b[t] +
    N(0, 0.5), plus the weekly pattern and N(0, 1) noise (the damped-trend model's own
    kind of series: a burst of growth or decline dies out within weeks)."""
    rng = np.random.default_rng(seed)
    trend, level = np.zeros(n), np.zeros(n)
    for t in range(1, n):
        trend[t] = 0.9 * trend[t - 1] + rng.normal(0, 0.3)
        level[t] = level[t - 1] + trend[t] + rng.normal(0, 0.5)
    return 200 + level + WEEKLY[np.arange(n) % 7] + rng.normal(0, 1, n)


def test_damped_trend_is_chosen_when_trends_fade_and_forecasts_better() -> None:
    """On series whose trend bursts die out, the rolling-origin score prefers the damped
    trend (the undamped one extrapolates each burst for the whole horizon), and over the
    next 30 days the chosen forecasts are closer than the undamped ETS's."""
    chosen, errors = [], {"chosen": [], models.ETS: []}
    for seed in range(20, 28):
        y = damped_trend_series(seed)
        result = models.forecast(y[:370], 30, 7, 84)
        chosen.append(result.choice.model)
        errors["chosen"].append(np.abs(result.prediction.point - y[370:]).mean())
        errors[models.ETS].append(np.abs(result.raw[models.ETS].point - y[370:]).mean())
    assert chosen.count(models.ETS_DAMPED) >= 6
    assert np.mean(errors["chosen"]) < 0.9 * np.mean(errors[models.ETS])


def test_short_monthly_series_fits_with_estimated_initial_states() -> None:
    months = np.array([10.0, 12.0, 13.5, 15.0, 17.2, 18.9, 21.0, 22.4, 24.8])
    prediction = models.fit(models.ETS, months, 3, 1).prediction
    assert_ordered(prediction)
    assert prediction.point[0] > months[-1]
    result = models.forecast(np.r_[months, 26.5, 28.0, 30.1], 3, 1, 18)
    assert np.isfinite(result.choice.mase[models.ETS])


def test_seasonal_naive_repeats_the_last_season_and_its_band_grows_by_whole_seasons() -> None:
    rng = np.random.default_rng(5)
    y = 50 + WEEKLY[np.arange(91) % 7] + rng.normal(0, 1, 91)
    prediction = models.fit_seasonal_naive(y, 21, 7).prediction
    assert np.allclose(prediction.point, np.tile(y[-7:], 3))
    width = prediction.upper_95 - prediction.lower_95
    assert np.allclose(width[:7], width[0]) and np.allclose(width[7:14], width[0] * np.sqrt(2))


def test_conformal_factor_is_the_finite_sample_quantile_of_the_scores() -> None:
    scores = np.array([0.5, 1.0, 1.5, 2.0, np.nan])
    # n = 4 finite scores: level 50 → k = ceil(5 * 0.5) = 3rd smallest; level 80 → k = 4, the max.
    assert models.conformal_factor(scores, 50) == pytest.approx(1.5)
    assert models.conformal_factor(scores, 80) == pytest.approx(2.0)
    assert np.isnan(models.conformal_factor(np.array([np.nan]), 95))
    point = np.array([10.0, 20.0])
    band = models.Prediction("x", point, point - 1, point + 2, point - 3, point + 4)
    half_80, half_95 = np.array([2.0, 3.0]), np.array([0.5, 4.0])
    wider = band.calibrated(half_80, half_95)
    assert np.allclose(wider.lower_80, point - half_80)
    assert np.allclose(wider.upper_80, point + half_80)
    assert np.allclose(wider.lower_95, point - half_95)
    assert np.allclose(wider.upper_95, point + half_95)
    assert np.allclose(wider.point, point)


def test_local_scale_is_the_mean_absolute_one_step_error_seen_before_each_origin() -> None:
    scale = models.local_scale(np.array([1.0, -3.0, 2.0, -4.0, 0.0]), 2)
    assert np.isnan(scale[:2]).all()
    assert np.allclose(scale[2:], [2.0, 2.5, 3.0])


@pytest.mark.parametrize(("period", "damped"), [(7, False), (1, False), (7, True), (1, True)])
def test_rolling_origin_forecasts_are_the_library_forecasts_from_each_origin(
    period: int, damped: bool
) -> None:
    """ETS (damped or not) fitted on the first `train` points, run with those parameters
    through the series: the vectorised forecast from every origin equals statsmodels'
    dynamic prediction from there; the baseline's repeats the last observed season."""
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    noise = np.random.default_rng(4).normal(0, 1, 60)
    y = trend_season(150, noise=2.0)[0] if period == 7 else 10 + 0.5 * np.arange(60) + noise
    horizon, train = 10, len(y) - 8
    fit = models.fit_ets(y, horizon, period, train, damped=damped)
    assert fit.prediction.model == (models.ETS_DAMPED if damped else models.ETS)
    seasonal = period if period > 1 else None
    fitted = ETSModel(
        pd.Series(y[:train]),
        error="add",
        trend="add",
        damped_trend=damped,
        seasonal="add" if seasonal else None,
        seasonal_periods=seasonal,
        initialization_method="heuristic",
    ).fit(disp=False, maxiter=200)
    start = fitted.get_prediction(start=train - 12, end=train - 3, dynamic=0).predicted_mean
    row = int(np.flatnonzero(fit.origins == train - 12)[0])
    assert np.allclose(fit.errors[row], y[train - 12 : train - 2] - np.asarray(start))
    assert np.isnan(fit.errors[-1, 1:]).all() and np.isfinite(fit.errors[-1, 0])
    naive = models.fit_seasonal_naive(y, horizon, period)
    row = int(np.flatnonzero(naive.origins == 40)[0])
    repeated = np.resize(y[40 - period : 40], horizon)
    assert np.allclose(naive.errors[row], y[40:50] - repeated)


def _fit_with_errors(size: np.ndarray, origins: int, own: np.ndarray) -> models.Fit:
    """A fit whose one-step errors are ±1 and whose errors at step h are ±size[h - 1],
    observed while origin + h stays inside `origins` days; own intervals ±own (95 %)."""
    horizon = len(size)
    sign = np.where(np.arange(origins) % 2, 1.0, -1.0)[:, None]
    errors = sign * np.r_[1.0, size[1:]][None, :]
    inside = np.arange(origins)[:, None] + np.arange(horizon)[None, :] < origins
    point = np.zeros(horizon)
    prediction = models.Prediction("x", point, -own * 0.66, own * 0.66, -own, own)
    return models.Fit(prediction, np.arange(origins), np.where(inside, errors, np.nan))


def test_calibration_takes_each_step_quantile_and_follows_the_model_beyond_the_data() -> None:
    horizon, origins, window = 40, 40, 5
    size = np.r_[1.0, np.linspace(2.0, 3.0, horizon - 1)]
    own = np.sqrt(np.arange(1, horizon + 1))
    fit = _fit_with_errors(size, origins, own)
    calibrated, steps = models.calibrate(fit.prediction, fit, window, 0)
    # Step j (0-based) has origins - window - j scores: at least 19 up to j = 16, none
    # from j = 35.
    assert steps == origins - window - models.MIN_CALIBRATION + 1 == 17
    half = calibrated.half_width(95)
    assert np.allclose(half[:steps], size[:steps])
    # Too few scores: the wider of the scores' quantile and the model's own band.
    assert np.allclose(half[steps:35], np.maximum(size[steps:35], own[steps:35]))
    assert np.allclose(half[35:], half[34] * own[35:] / own[34])
    assert (np.diff(half) >= 0).all()
    assert (calibrated.half_width(80) <= half + 1e-12).all()


def test_calibration_scores_only_the_origins_from_first_on() -> None:
    """Errors before `first` (in sample for the parameters) do not set the band: ten times
    larger there, the half-widths are still the later errors' size; the band is put around
    the prediction given (the refitted model's), not the measuring fit's."""
    horizon, origins, window, first = 10, 200, 5, 100
    size = np.r_[1.0, np.full(horizon - 1, 2.0)]
    own = np.full(horizon, 50.0)
    fit = _fit_with_errors(size, origins, own)
    inflated = fit.errors.copy()
    inflated[:first, 1:] *= 10
    fit = models.Fit(fit.prediction, fit.origins, inflated)
    shifted = models.Prediction("x", *(np.full(horizon, 7.0) for _ in range(5)))
    calibrated, steps = models.calibrate(shifted, fit, window, first)
    assert steps == horizon
    assert np.allclose(calibrated.half_width(95), size)
    assert np.allclose(calibrated.point, 7.0)
    pooled, _ = models.calibrate(shifted, fit, window, 0)
    assert (pooled.half_width(95)[1:] > 5 * size[1:]).all()


def test_calibrated_bands_match_a_known_noise() -> None:
    """Trend, weekly pattern and white noise of known sd 2: at step 1 the calibrated
    half-widths are the noise's own quantiles (1.28 and 1.96 sd) up to the estimation error
    of level and trend, and the bands cover the next 30 days about as promised."""
    sd, widths, inside = 2.0, {80: [], 95: []}, {80: [], 95: []}
    for seed in range(100, 104):
        t = np.arange(430)
        y = 100 + 0.2 * t + WEEKLY[t % 7] + np.random.default_rng(seed).normal(0, sd, 430)
        result = models.forecast(y[:400], 30, 7, 84)
        for level in widths:
            widths[level].append(result.prediction.half_width(level)[0])
            inside[level].append(models.coverage(y[400:], result.prediction, level))
    for level, z in ((80, 1.2816), (95, 1.96)):
        assert 0.95 <= np.mean(widths[level]) / (z * sd) <= 1.2
    assert 72 <= np.mean(inside[80]) <= 92
    assert 90 <= np.mean(inside[95]) <= 100


def test_too_few_calibration_scores_only_widen_the_model_s_own_intervals() -> None:
    own = np.full(3, 5.0)
    narrow = _fit_with_errors(np.ones(3), 20, own)
    calibrated, steps = models.calibrate(narrow.prediction, narrow, 5, 0)
    assert steps == 0 and np.allclose(calibrated.half_width(95), own)
    wide = _fit_with_errors(np.full(3, 9.0), 20, own)
    calibrated, steps = models.calibrate(wide.prediction, wide, 5, 0)
    # Step 1's errors are the one-step errors (±1, score 1): the model's own 5 stays.
    assert steps == 0 and np.allclose(calibrated.half_width(95), [5.0, 9.0, 9.0])
    months = 10 + np.cumsum(np.random.default_rng(2).normal(1, 0.5, 20))
    result = models.forecast(months, 3, 1, 18)
    raw = result.raw[result.choice.model]
    assert result.choice.calibrated_steps == 0
    assert (result.prediction.half_width(95) >= raw.half_width(95) - 1e-9).all()


def test_constant_series_has_no_spread_and_no_calibration() -> None:
    result = models.forecast(np.full(120, 7.0), 30, 7, 84)
    assert np.allclose(result.prediction.point, 7.0)
    assert np.allclose(result.prediction.half_width(95), 0.0)
    assert result.choice.calibrated_steps == 0


def test_calibrated_intervals_cover_a_well_specified_series_and_widen_with_the_horizon() -> None:
    """On series the model describes (trend, weekly pattern, a random walk and noise), the
    calibrated bands cover the next 30 days about as promised; they widen with the horizon."""
    inside = {80: [], 95: []}
    for seed in range(6):
        rng = np.random.default_rng(seed)
        t = np.arange(430)
        y = 100 + 0.2 * t + WEEKLY[t % 7] + np.cumsum(rng.normal(0, 0.3, 430))
        y = y + rng.normal(0, 3, 430)
        result = models.forecast(y[:400], 30, 7, 84)
        assert result.choice.calibrated_steps == 30
        width = result.prediction.half_width(95)
        assert (np.diff(width) >= 0).all() and width[-1] > width[0]
        for level in inside:
            inside[level].append(models.coverage(y[400:], result.prediction, level))
    assert 70 <= np.mean(inside[80]) <= 90
    assert 90 <= np.mean(inside[95]) <= 99


def test_calibration_widens_intervals_when_the_series_got_noisier() -> None:
    """Noise sd 1 for most of the history, then sd 4 over the last 12 weeks and the future:
    the scale of the last weeks' errors widens the band, and it covers the future."""
    rng = np.random.default_rng(7)
    n, future = 280, 28
    t = np.arange(n + future)
    truth = 100 + 0.2 * t + WEEKLY[t % 7]
    noise = np.where(t < n - 84, rng.normal(0, 1, len(t)), rng.normal(0, 4, len(t)))
    y = truth + noise
    result = models.forecast(y[:n], future, 7, 84)
    raw = result.raw[result.choice.model]
    assert (result.prediction.half_width(95) > raw.half_width(95) * 1.3).all()
    assert models.coverage(y[n:], result.prediction, 95) >= 90
    assert models.coverage(y[n:], result.prediction, 95) > models.coverage(y[n:], raw, 95)


def test_headline_names_the_first_point_crossing_else_the_first_the_band_allows() -> None:
    from opsmetrics.forecast.run import _first_capacity_crossing

    def crossing(metric: str, point: str | None, earliest: str | None) -> dict:
        return {
            "metric": metric,
            "slice_value": "billing",
            "threshold_kind": "warning",
            "threshold_value": 100.0,
            "crossing_date": pd.Timestamp(point) if point else pd.NaT,
            "crossing_date_earliest": pd.Timestamp(earliest) if earliest else pd.NaT,
            "crossing_date_latest": pd.NaT,
        }

    band_only = pd.DataFrame(
        [crossing("queue_depth", None, "2025-07-09"), crossing("mrr", "2025-07-02", "2025-07-01")]
    )
    line = _first_capacity_crossing(band_only)
    assert line.startswith("no capacity threshold crossing expected")
    assert "queue_depth billing could reach its warning threshold 100 from 2025-07-09" in line
    both = pd.concat([band_only, pd.DataFrame([crossing("cpu_utilization", "2025-08-01", None)])])
    assert "first capacity threshold crossing: cpu_utilization billing" in (
        _first_capacity_crossing(both)
    )
    none = pd.DataFrame([crossing("queue_depth", None, None)])
    assert _first_capacity_crossing(none).startswith("no capacity threshold crossing predicted")
