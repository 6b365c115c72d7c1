"""The forecasting models, their accuracy measures, the choice between them and the
calibration of their intervals.

Every model comes from statsmodels: ETS (`ETSModel`, additive error, additive trend,
additive weekly seasonality for daily series), the same with a damped trend (the trend's
effect shrinks by a fitted factor phi per step ahead), and the seasonal-naive baseline,
written as the seasonal random walk SARIMA(0,0,0)(0,1,0)_m, whose prediction intervals
statsmodels derives from the innovation variance (sigma * sqrt(k + 1), k the whole seasons
ahead). `forecast` fits each ETS on the first half of the series, runs it with those
parameters through the whole series, and from the filtered states takes the forecasts it
would have made from every earlier day (rolling origins, `Fit.errors`): the origins of the
second half, out of sample for the parameters, choose the model (`horizon_mase`: the mean
absolute error of each horizon step, averaged over the steps) and calibrate the chosen
model's intervals per horizon step (split conformal on locally scaled errors,
`calibrate`); the forecast written comes from the chosen model refitted on the whole
series.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from statsmodels.tsa.exponential_smoothing.ets import ETSModel
from statsmodels.tsa.statespace.sarimax import SARIMAX
from threadpoolctl import threadpool_limits

ETS = "ets"
ETS_DAMPED = "ets_damped"
SEASONAL_NAIVE = "seasonal_naive"
MODELS = (ETS, ETS_DAMPED, SEASONAL_NAIVE)
"""The candidates, the baseline last (it wins ties)."""
LEVELS = (80, 95)
BOUNDS = ("lower_80", "upper_80", "lower_95", "upper_95")


@dataclass(frozen=True)
class Prediction:
    """A forecast of `horizon` steps after the last observation, with its intervals."""

    model: str
    point: np.ndarray
    lower_80: np.ndarray
    upper_80: np.ndarray
    lower_95: np.ndarray
    upper_95: np.ndarray

    def bounds(self, level: int) -> tuple[np.ndarray, np.ndarray]:
        return getattr(self, f"lower_{level}"), getattr(self, f"upper_{level}")

    def half_width(self, level: int) -> np.ndarray:
        lower, upper = self.bounds(level)
        return (upper - lower) / 2

    def clipped(self, floor: float | None, ceiling: float | None) -> Prediction:
        """The same forecast kept inside the metric's possible range (a share cannot pass
        100 %, a count cannot go below 0); the order lower <= point <= upper is kept."""
        if floor is None and ceiling is None:
            return self
        low = -np.inf if floor is None else floor
        high = np.inf if ceiling is None else ceiling
        values = {name: np.clip(getattr(self, name), low, high) for name in ("point", *BOUNDS)}
        return Prediction(model=self.model, **values)

    def calibrated(self, half_80: np.ndarray, half_95: np.ndarray) -> Prediction:
        """The same point forecast with the given interval half-widths, one per step."""
        return Prediction(
            self.model,
            self.point,
            self.point - half_80,
            self.point + half_80,
            self.point - half_95,
            self.point + half_95,
        )


def one_blas_thread() -> object:
    """A context in which BLAS uses one thread: the fits are many small optimisations, and
    OpenBLAS's threads only contend (4-5x slower on a busy 2-core machine). The BLAS
    libraries must be loaded to be limited: statsmodels is imported at module level."""
    return threadpool_limits(limits=1, user_api="blas")


class ModelError(RuntimeError):
    """The library could not fit or predict this series (reported, never hidden)."""


@dataclass(frozen=True)
class Fit:
    """A model run through a whole series: its own forecast from the end (`prediction`),
    and the errors of the forecasts it made from every earlier origin.

    `errors[i, h - 1]` is y[o + h - 1] minus the forecast made `h` steps ahead from origin
    o = `origins[i]` (the first o observations seen); nan where that day is not observed.
    """

    prediction: Prediction
    origins: np.ndarray
    errors: np.ndarray


def _is_constant(y: np.ndarray) -> bool:
    return bool(np.ptp(y) == 0)


def _flat(model: str, y: np.ndarray, horizon: int) -> Fit:
    """A constant series: every model's forecast is the constant, with no spread (its
    residual variance is zero; statsmodels would divide by it) and no error."""
    line = np.full(horizon, float(y[-1]))
    origins = np.arange(1, len(y))
    return Fit(Prediction(model, line, line, line, line, line), origins, _errors(y, origins, line))


def _errors(y: np.ndarray, origins: np.ndarray, paths: np.ndarray) -> np.ndarray:
    """y at each origin's forecast days minus `paths` (rows: origins, columns: steps 1..H;
    a 1-d path is every origin's); nan beyond the last observation."""
    steps = np.arange(1, paths.shape[-1] + 1)
    target = origins[:, None] - 1 + steps
    observed = target < len(y)
    return np.where(observed, y[np.minimum(target, len(y) - 1)] - paths, np.nan)


def _seasonal_lag(last: np.ndarray, steps: np.ndarray, period: int) -> np.ndarray:
    """Position of the latest observed value in the same season as each forecast day."""
    return last + steps - period * np.ceil(steps / period).astype(int)


def _from_frames(model: str, frames: dict[int, object]) -> Prediction:
    """Build a Prediction from statsmodels summary frames at 80 % and 95 %."""
    frame_80, frame_95 = frames[80], frames[95]
    prediction = Prediction(
        model=model,
        point=np.asarray(frame_95["mean"], dtype=float),
        lower_80=np.asarray(frame_80["pi_lower"], dtype=float),
        upper_80=np.asarray(frame_80["pi_upper"], dtype=float),
        lower_95=np.asarray(frame_95["pi_lower"], dtype=float),
        upper_95=np.asarray(frame_95["pi_upper"], dtype=float),
    )
    values = np.stack(
        [
            prediction.point,
            prediction.lower_80,
            prediction.upper_80,
            prediction.lower_95,
            prediction.upper_95,
        ]
    )
    if not np.isfinite(values).all():
        raise ModelError(f"{model} returned a non-finite forecast")
    return prediction


def _ets_model(
    y: np.ndarray, period: int | None, damped: bool = False, **initial: object
) -> ETSModel:
    """ETS(A,A,A) with seasonal period `period` (None: ETS(A,A,N)) on `y`, with `damped`
    ETS(A,Ad,A) (the damping factor phi is estimated, statsmodels bounds it to 0.8-0.98);
    the initial
    states are `initial` (known) when given, else statsmodels' heuristic (Hyndman et al.
    2008; 20x faster than estimating them), or estimated where the heuristic cannot run
    (it needs 10 observations and two seasons: the short monthly series). The endog is a
    pandas Series: statsmodels 0.15 labels ETS predictions by its index."""
    if initial:
        method = "known"
    elif len(y) >= max(10, 2 * (period or 1) + 10):
        method = "heuristic"
    else:
        method = "estimated"
    return ETSModel(
        pd.Series(np.asarray(y, dtype=float)),
        error="add",
        trend="add",
        damped_trend=damped,
        seasonal="add" if period else None,
        seasonal_periods=period,
        initialization_method=method,
        **initial,
    )


def fit_ets(
    y: np.ndarray, horizon: int, period: int, train: int | None = None, damped: bool = False
) -> Fit:
    """ETS (`damped`: with a damped trend) fitted once, by maximum likelihood on the first
    `train` points (default all), then run with those parameters and initial states
    through the whole series: the forecast from its end with statsmodels' exact intervals
    (closed forms for additive models), and the forecasts from every earlier origin, taken
    from the filtered states (level + (phi + ... + phi^h) * trend, phi = 1 undamped, + the
    season's last seasonal state: the library's own forecast function, checked against
    `get_prediction(dynamic=...)` in the unit tests)."""
    name = ETS_DAMPED if damped else ETS
    seasonal = period if period > 1 else None
    train = len(y) if train is None else train
    if _is_constant(y[:train]):
        if _is_constant(y):
            return _flat(name, y, horizon)
        raise ModelError("ETS cannot be fitted on a constant training window")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            fitted = _ets_model(y[:train], seasonal, damped).fit(disp=False, maxiter=200)
            initial = {"initial_level": fitted.initial_level, "initial_trend": fitted.initial_trend}
            if seasonal:
                initial["initial_seasonal"] = fitted.initial_seasonal
            model = _ets_model(y, seasonal, damped, **initial)
            params = np.asarray(fitted.params)[: len(model.param_names)]
            smoothed = model.smooth(params)
            prediction = smoothed.get_prediction(start=len(y), end=len(y) + horizon - 1)
            frames = {level: prediction.summary_frame(alpha=1 - level / 100) for level in LEVELS}
        except (ValueError, np.linalg.LinAlgError) as error:
            raise ModelError(f"ETS failed: {error}") from error
    states = np.asarray(smoothed.states, dtype=float)
    origins = np.arange(period, len(y))
    last, steps = origins[:, None] - 1, np.arange(1, horizon + 1)
    phi = dict(zip(model.param_names, params, strict=True)).get("damping_trend", 1.0)
    trend_weight = np.cumsum(float(phi) ** steps)
    paths = states[last, 0] + trend_weight * states[last, 1]
    if seasonal:
        paths = paths + states[_seasonal_lag(last, steps, period), 2]
    return Fit(_from_frames(name, frames), origins, _errors(y, origins, paths))


def fit_seasonal_naive(y: np.ndarray, horizon: int, period: int) -> Fit:
    """The seasonal random walk y[t] = y[t - m] + e[t] (m = 1: the naive random walk),
    statsmodels' SARIMAX with no free parameter: the innovation variance is concentrated
    out of the likelihood (its maximum-likelihood value in closed form), so no optimiser
    runs; its intervals widen by whole seasons ahead. From every origin it repeats the
    last observed season."""
    if _is_constant(y):
        return _flat(SEASONAL_NAIVE, y, horizon)
    endog = np.asarray(y, dtype=float)
    if period > 1:
        model = SARIMAX(
            endog, order=(0, 0, 0), seasonal_order=(0, 1, 0, period), concentrate_scale=True
        )
    else:
        model = SARIMAX(endog, order=(0, 1, 0), concentrate_scale=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            prediction = model.smooth([]).get_forecast(steps=horizon)
            frames = {}
            for level in LEVELS:
                frame = prediction.summary_frame(alpha=1 - level / 100)
                frames[level] = frame.rename(
                    columns={"mean_ci_lower": "pi_lower", "mean_ci_upper": "pi_upper"}
                )
        except (ValueError, np.linalg.LinAlgError) as error:
            raise ModelError(f"seasonal naive failed: {error}") from error
    origins = np.arange(period, len(y))
    paths = endog[_seasonal_lag(origins[:, None] - 1, np.arange(1, horizon + 1), period)]
    return Fit(_from_frames(SEASONAL_NAIVE, frames), origins, _errors(endog, origins, paths))


def fit(model: str, y: np.ndarray, horizon: int, period: int, train: int | None = None) -> Fit:
    """Fit `model` (one of MODELS) on `y` and forecast `horizon` steps (`train`: ETS's
    parameters are estimated on the first `train` points; the baseline has none)."""
    if model in (ETS, ETS_DAMPED):
        return fit_ets(y, horizon, period, train, damped=model == ETS_DAMPED)
    return fit_seasonal_naive(y, horizon, period)


def mase_scale(y: np.ndarray, period: int) -> float:
    """In-sample mean absolute error of the seasonal-naive one-season-ahead forecast: the
    MASE denominator (Hyndman & Koehler 2006). 0 for a series that repeats exactly."""
    if len(y) <= period:
        return float("nan")
    return float(np.mean(np.abs(y[period:] - y[:-period])))


def mase(actual: np.ndarray, point: np.ndarray, scale: float) -> float:
    """Mean absolute error scaled by `scale` (nan when the scale is 0 or unknown)."""
    if not scale or not np.isfinite(scale):
        return float("nan")
    return float(np.mean(np.abs(actual - point)) / scale)


def horizon_mase(fit: Fit, first: int, scale: float) -> float:
    """The rolling-origin accuracy that chooses the model: the mean absolute error of each
    horizon step over the origins from `first` on, averaged over the steps, divided by
    `scale`. Every step weighs the same: pooling the errors instead would weigh the short
    steps most (the last origins have only their first steps observed), and the choice
    would follow one-step accuracy where the forecast is read weeks ahead. Nan when the
    scale is 0 or unknown or no error was observed."""
    errors = np.abs(fit.errors[fit.origins >= first])
    observed = np.isfinite(errors).any(axis=0)
    if not observed.any() or not scale or not np.isfinite(scale):
        return float("nan")
    per_step = np.nanmean(errors[:, observed], axis=0)
    return float(np.mean(per_step) / scale)


def mape(actual: np.ndarray, point: np.ndarray) -> float:
    """Mean absolute percentage error over the days whose actual is not 0 (nan if none)."""
    nonzero = actual != 0
    if not nonzero.any():
        return float("nan")
    return float(np.mean(np.abs((actual[nonzero] - point[nonzero]) / actual[nonzero])) * 100)


def coverage(actual: np.ndarray, prediction: Prediction, level: int) -> float:
    """Share (%) of actuals inside the `level` % interval."""
    lower, upper = prediction.bounds(level)
    n = len(actual)
    return float(np.mean((actual >= lower[:n]) & (actual <= upper[:n])) * 100)


MIN_CALIBRATION = 19
"""Scores a horizon step needs to be calibrated: with fewer than 19, the finite-sample
conformal 95 % quantile (k = ceil((n + 1) * 0.95)) would be the largest score or beyond."""


@dataclass(frozen=True)
class Choice:
    """The model chosen for a series, every candidate's rolling-origin `horizon_mase` over
    the origins of the series' second half (nan: the model failed), and how many horizon
    steps of the chosen model's intervals the rolling-origin errors calibrated (0: the
    model's own intervals)."""

    model: str
    mase: dict[str, float]
    calibrated_steps: int = 0


@dataclass(frozen=True)
class Forecast:
    """A series' forecast: the choice, the chosen model's calibrated forecast (`prediction`)
    and each model's own forecast and intervals (`raw`, for the benchmark)."""

    choice: Choice
    prediction: Prediction
    raw: dict[str, Prediction]


def conformal_factor(scores: np.ndarray, level: int) -> float:
    """Split-conformal quantile: the k-th smallest of the n finite scores, k = ceil((n + 1)
    * level), at most n (nan when nothing was measured)."""
    scores = scores[np.isfinite(scores)]
    if not len(scores):
        return float("nan")
    k = min(len(scores), int(np.ceil((len(scores) + 1) * level / 100)))
    return float(np.partition(scores, k - 1)[k - 1])


def local_scale(one_step: np.ndarray, window: int) -> np.ndarray:
    """Mean absolute one-step error over the `window` origins before each origin (nan for
    the first `window`): the scale an origin's errors are divided by, measured on data
    seen by that origin only."""
    absolute = np.abs(one_step)
    sums = np.concatenate([[0.0], np.cumsum(absolute)])
    scale = np.full(len(absolute), np.nan)
    scale[window:] = (sums[window:-1] - sums[: -window - 1]) / window
    return scale


def calibrate(prediction: Prediction, fit: Fit, window: int, first: int) -> tuple[Prediction, int]:
    """`prediction` with conformal intervals per horizon step, from the errors of `fit` (the
    same model run through the series with parameters fitted on its first `first` points)
    at the origins from `first` on: errors out of sample for the parameters.

    Score of an origin o at step h: |error| / s(o), s(o) the mean absolute one-step error
    of the `window` origins before o (`local_scale`: errors grow with a growing series or
    a noisier period, and the scores stay comparable). The half-width at step h is the
    conformal quantile (`conformal_factor`) of step h's scores times s at the end of the
    series, when the step has at least MIN_CALIBRATION scores (these steps are counted
    and returned). With fewer, the scores can widen the model's own interval but not
    narrow it (the wider of the two); with none, the half-width grows from the step before
    as the model's own does. Never narrower than at an earlier step. No one-step error in
    the last `window` origins (or none measured): the model's own intervals (0 steps)."""
    one_step = fit.errors[:, 0]
    scale = local_scale(one_step, window)
    usable = (scale > 0) & (fit.origins >= first)
    current = float(np.mean(np.abs(one_step[-window:]))) if len(one_step) > window else 0.0
    if current <= 0 or not usable.any():
        return prediction, 0
    scores = np.abs(fit.errors[usable]) / scale[usable, None]
    counts = np.isfinite(scores).sum(axis=0)
    steps = int(np.cumprod(counts >= MIN_CALIBRATION).sum())
    halves = []
    for level in LEVELS:
        own = prediction.half_width(level)
        half = np.array([conformal_factor(scores[:, h], level) for h in range(len(own))])
        half = half * current
        few = (counts > 0) & (counts < MIN_CALIBRATION)
        half[few] = np.maximum(half[few], own[few])
        for h in np.flatnonzero(counts == 0):
            previous = half[h - 1] if h else own[0]
            growth = own[h] / own[h - 1] if h and own[h - 1] > 0 else 1.0
            half[h] = previous * max(growth, 1.0)
        halves.append(np.maximum.accumulate(half))
    return prediction.calibrated(*halves), steps


def forecast(y: np.ndarray, horizon: int, period: int, window: int) -> Forecast:
    """Forecast `horizon` steps after `y`. Each model is first run through the series with
    its parameters fitted on the first half only (split conformal's split: the errors from
    every origin of the second half are out of sample); those errors choose the model (the
    lowest `horizon_mase` over the origins of the second half, scaled by the first half's
    seasonal-naive error; an ETS model must beat the baseline: ties and failures give the
    baseline) and calibrate the chosen model's intervals (`calibrate`, its local scale over
    `window` origins, at most half the series). The forecast itself comes from the chosen
    model's parameters fitted on the whole series (the baseline has none)."""
    window = min(window, len(y) // 2)
    split = len(y) // 2
    measured: dict[str, Fit] = {}
    for model in MODELS:
        try:
            measured[model] = fit(model, y, horizon, period, split)
        except ModelError:
            continue
    if SEASONAL_NAIVE not in measured:
        raise ModelError("no model could forecast this series")
    scale = mase_scale(y[:split], period)
    score = {
        model: horizon_mase(measured[model], split, scale) if model in measured else float("nan")
        for model in MODELS
    }
    chosen = SEASONAL_NAIVE
    for model in MODELS:
        if np.isfinite(score[model]) and (
            not np.isfinite(score[chosen]) or score[model] < score[chosen]
        ):
            chosen = model
    final: dict[str, Fit] = {SEASONAL_NAIVE: measured[SEASONAL_NAIVE]}
    for model in measured.keys() - {SEASONAL_NAIVE}:
        # The baseline has no parameters: its measuring run is its forecast.
        try:
            final[model] = fit(model, y, horizon, period)
        except ModelError:
            if model == chosen:
                chosen = SEASONAL_NAIVE
    prediction, steps = calibrate(final[chosen].prediction, measured[chosen], window, split)
    raw = {model: result.prediction for model, result in final.items()}
    return Forecast(Choice(chosen, score, steps), prediction, raw)
