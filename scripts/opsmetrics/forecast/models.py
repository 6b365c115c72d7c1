"""The two forecasting models, their accuracy measures, the choice between them and the
calibration of their intervals.

Both models come from statsmodels: ETS (`ETSModel`, additive error, additive trend,
additive weekly seasonality for daily series) and the seasonal-naive baseline, written as
the seasonal random walk SARIMA(0,0,0)(0,1,0)_m, whose prediction intervals statsmodels
derives from the innovation variance (sigma * sqrt(k + 1), k the whole seasons ahead).
Nothing here is hand-written forecasting maths: this module calls the library, scores its
forecasts on rolling holdouts (`select`) and rescales the library's interval widths by the
factors those holdouts measured (split-conformal calibration, `Prediction.calibrated`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from statsmodels.tsa.exponential_smoothing.ets import ETSModel
from statsmodels.tsa.statespace.sarimax import SARIMAX
from threadpoolctl import threadpool_limits

ETS = "ets"
SEASONAL_NAIVE = "seasonal_naive"
MODELS = (ETS, SEASONAL_NAIVE)
LEVELS = (80, 95)


@dataclass(frozen=True)
class Prediction:
    """A forecast of `horizon` steps after the last observation, with its intervals."""

    model: str
    point: np.ndarray
    lower_80: np.ndarray
    upper_80: np.ndarray
    lower_95: np.ndarray
    upper_95: np.ndarray
    params: np.ndarray | None = None

    def bounds(self, level: int) -> tuple[np.ndarray, np.ndarray]:
        return getattr(self, f"lower_{level}"), getattr(self, f"upper_{level}")

    def clipped(self, floor: float | None, ceiling: float | None) -> Prediction:
        """The same forecast kept inside the metric's possible range (a share cannot pass
        100 %, a count cannot go below 0); the order lower <= point <= upper is kept."""
        if floor is None and ceiling is None:
            return self
        low = -np.inf if floor is None else floor
        high = np.inf if ceiling is None else ceiling
        values = {
            name: np.clip(getattr(self, name), low, high)
            for name in ("point", "lower_80", "upper_80", "lower_95", "upper_95")
        }
        return Prediction(model=self.model, **values)

    def calibrated(self, factor_80: float, factor_95: float) -> Prediction:
        """The same point forecast with each interval's half-width multiplied by its
        factor (> 1 widens, < 1 narrows)."""
        values = {"point": self.point}
        for level, factor in ((80, factor_80), (95, factor_95)):
            lower, upper = self.bounds(level)
            values[f"lower_{level}"] = self.point - (self.point - lower) * factor
            values[f"upper_{level}"] = self.point + (upper - self.point) * factor
        return Prediction(model=self.model, **values)


def one_blas_thread() -> object:
    """A context in which BLAS uses one thread: the fits are many small optimisations, and
    OpenBLAS's threads only contend (4-5x slower on a busy 2-core machine). The BLAS
    libraries must be loaded to be limited: statsmodels is imported at module level."""
    return threadpool_limits(limits=1, user_api="blas")


class ModelError(RuntimeError):
    """The library could not fit or predict this series (reported, never hidden)."""


def _is_constant(y: np.ndarray) -> bool:
    return bool(np.ptp(y) == 0)


def _flat(model: str, value: float, horizon: int) -> Prediction:
    """A constant series: every model's forecast is the constant, with no spread (its
    residual variance is zero; statsmodels would divide by it)."""
    line = np.full(horizon, float(value))
    return Prediction(model, line, line, line, line, line)


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


def fit_ets(
    y: np.ndarray, horizon: int, period: int | None, start_params: np.ndarray | None = None
) -> Prediction:
    """ETS(A,A,A) with seasonal period `period` (None: ETS(A,A,N)): initial states by
    statsmodels' heuristic (Hyndman et al. 2008; 20x faster than estimating them, which
    makes the whole run fit in the time budget), smoothing parameters by maximum likelihood
    (the optimiser starts from `start_params` when given, e.g. the same series' fit at an
    earlier cut-off), exact prediction intervals (closed forms for additive models in
    statsmodels); the endog is a pandas Series: statsmodels 0.15 labels ETS predictions by
    its index. The fitted parameters are kept on the prediction."""
    if _is_constant(y):
        return _flat(ETS, y[-1], horizon)
    # The heuristic needs 10 observations (and two seasons); shorter series, the monthly
    # ones' holdout fits, estimate the few initial states instead.
    heuristic = len(y) >= max(10, 2 * (period or 1) + 10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            model = ETSModel(
                pd.Series(np.asarray(y, dtype=float)),
                error="add",
                trend="add",
                seasonal="add" if period else None,
                seasonal_periods=period,
                initialization_method="heuristic" if heuristic else "estimated",
            )
            if start_params is not None and len(start_params) != len(model.start_params):
                start_params = None
            fitted = model.fit(disp=False, maxiter=200, start_params=start_params)
            prediction = fitted.get_prediction(start=len(y), end=len(y) + horizon - 1)
            frames = {level: prediction.summary_frame(alpha=1 - level / 100) for level in LEVELS}
        except (ValueError, np.linalg.LinAlgError) as error:
            raise ModelError(f"ETS failed: {error}") from error
    return replace(_from_frames(ETS, frames), params=np.asarray(fitted.params, dtype=float))


def fit_seasonal_naive(y: np.ndarray, horizon: int, period: int) -> Prediction:
    """The seasonal random walk y[t] = y[t - m] + e[t] (m = 1: the naive random walk),
    statsmodels' SARIMAX with no free parameter: the innovation variance is concentrated
    out of the likelihood (its maximum-likelihood value in closed form), so no optimiser
    runs; its intervals widen by whole seasons ahead."""
    if _is_constant(y):
        return _flat(SEASONAL_NAIVE, y[-1], horizon)
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
    return _from_frames(SEASONAL_NAIVE, frames)


def fit(
    model: str, y: np.ndarray, horizon: int, period: int, start_params: np.ndarray | None = None
) -> Prediction:
    """Fit `model` (ETS or SEASONAL_NAIVE) on `y` and forecast `horizon` steps
    (`start_params`: where ETS's optimiser starts; the baseline has no parameter)."""
    if model == ETS:
        return fit_ets(y, horizon, period if period > 1 else None, start_params)
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


HOLDOUT_ORIGINS = 3
"""Rolling holdouts per series for the model choice and the interval calibration."""


@dataclass(frozen=True)
class Choice:
    """The model chosen for a series, the mean holdout MASE of both candidates, and the
    chosen model's interval calibration factors (80 %, 95 %)."""

    model: str
    mase: dict[str, float]
    factors: tuple[float, float] = (1.0, 1.0)
    ets_params: np.ndarray | None = None
    """ETS's parameters at the last holdout cut-off: where the final fit's optimiser starts."""


def holdout_cuts(length: int, holdout: int, origins: int) -> list[int]:
    """Cut-offs of the rolling holdouts: the last leaves `holdout` points, each earlier
    one `holdout` points before; every cut keeps at least half the series to train on."""
    cuts = [length - k * holdout for k in range(1, origins + 1)]
    return [cut for cut in cuts if cut >= max(length // 2, 2)] or [length - holdout]


def conformal_factor(ratios: np.ndarray, level: int) -> float:
    """Split-conformal factor: the k-th smallest of the n holdout ratios |actual - point| /
    interval half-width, k = ceil((n + 1) * level), at most n (1 when nothing was
    measured)."""
    ratios = ratios[np.isfinite(ratios)]
    if not len(ratios):
        return 1.0
    k = min(len(ratios), int(np.ceil((len(ratios) + 1) * level / 100)))
    return float(np.quantile(ratios, k / len(ratios), method="inverted_cdf"))


def _ratios(actual: np.ndarray, prediction: Prediction, level: int) -> np.ndarray:
    lower, upper = prediction.bounds(level)
    half_width = (upper - lower)[: len(actual)] / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = np.abs(actual - prediction.point[: len(actual)]) / half_width
    return np.where(half_width > 0, ratios, np.nan)


def choose(y: np.ndarray, holdout: int, period: int, origins: int = HOLDOUT_ORIGINS) -> Choice:
    """Fit both models at each rolling holdout cut-off (`holdout_cuts`), keep the one with
    the lower mean MASE on the held-out points (ETS must beat the baseline: ties and
    failures give the baseline) and measure the chosen model's interval calibration
    factors on the same holdouts (`conformal_factor`)."""
    scores: dict[str, list[float]] = {model: [] for model in MODELS}
    ratios: dict[str, dict[int, list[np.ndarray]]] = {
        model: {level: [] for level in LEVELS} for model in MODELS
    }
    start_params = None
    for cut in sorted(holdout_cuts(len(y), holdout, origins)):
        train, test = y[:cut], y[cut : cut + holdout]
        scale = mase_scale(train, period)
        for model in MODELS:
            try:
                prediction = fit(model, train, len(test), period, start_params)
            except ModelError:
                scores[model].append(float("nan"))
                continue
            if prediction.params is not None:
                start_params = prediction.params
            scores[model].append(mase(test, prediction.point, scale))
            for level in LEVELS:
                ratios[model][level].append(_ratios(test, prediction, level))
    mean = {
        model: float(np.mean(values)) if values and np.isfinite(values).all() else float("nan")
        for model, values in scores.items()
    }
    ets_score, naive_score = mean[ETS], mean[SEASONAL_NAIVE]
    better = np.isfinite(ets_score) and (not np.isfinite(naive_score) or ets_score < naive_score)
    chosen = ETS if better else SEASONAL_NAIVE
    factors = tuple(
        conformal_factor(np.concatenate(ratios[chosen][level] or [np.array([])]), level)
        for level in LEVELS
    )
    return Choice(chosen, mean, factors, start_params)
