"""The condition kinds as pure functions of a regular series.

A series is one value per period (NaN where the period has no value), indexed by period
start, every period present (see `regular_series`). Each function judges the period at
position `at` and returns an Outcome; nothing here reads the warehouse, so the same code
serves `alerts evaluate` (at the latest complete period) and the backtest (at every one).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from opsmetrics.alerts.rules import (
    Anomaly,
    Change,
    Correlation,
    Threshold,
    Trend,
)

Status = Literal["firing", "ok", "no_data", "insufficient"]
MAD_SCALE = 0.6745
"""Φ⁻¹(0.75): makes the median absolute deviation a consistent estimate of sigma (Iglewicz
and Hoaglin's modified z-score)."""
MEAN_AD_SCALE = 0.7979
"""√(2/π): the mean absolute deviation's consistency constant, used when the MAD is 0."""
PERIODS_PER_WEEK = {"5m": 12 * 24 * 7, "1h": 24 * 7, "1d": 7, "1w": 1}
PERIODS_PER_YEAR = {"5m": 12 * 24 * 364, "1h": 24 * 364, "1d": 364, "1w": 52, "30d": 12}
"""A year back on the same weekday (52 weeks) for sub-monthly grains; 12 months for 30d."""
FREQ = {"5m": "5min", "1h": "h", "1d": "D", "1w": "W-MON", "30d": "MS"}


@dataclass(frozen=True)
class Outcome:
    """The verdict on one period: firing or ok, or why it could not be judged."""

    status: Status
    observed: float | None = None
    expected: float | None = None
    lower: float | None = None
    upper: float | None = None
    detail: str = ""
    severity: str | None = None
    """Set by registry thresholds (critical or high), else the rule's own severity."""


def _verdict(
    fires: bool,
    observed: float,
    expected: float | None,
    lower: float | None,
    upper: float | None,
    detail: str,
) -> Outcome:
    """Firing with `detail`, or ok; the expected value and the band either way."""
    if fires:
        return Outcome("firing", observed, expected, lower, upper, detail)
    return Outcome("ok", observed, expected, lower, upper)


def regular_series(frame: pd.DataFrame, grain: str, end: pd.Timestamp) -> pd.Series:
    """`frame` (columns period, value) as one value per period from its first period up
    to and including `end`, NaN where a period has no row."""
    if frame.empty:
        return pd.Series([], dtype=float, index=pd.DatetimeIndex([]))
    values = frame.groupby("period")["value"].sum(min_count=1).astype(float)
    values.index = pd.DatetimeIndex(values.index)
    start = min(values.index.min(), end)
    index = pd.date_range(start, end, freq=FREQ[grain])
    return values.reindex(index)


def regular_counts(frame: pd.DataFrame, index: pd.DatetimeIndex) -> np.ndarray:
    """The (events, trials) behind each period of `index` (a regular series' index), as an
    array of shape (len(index), 2); a period without a row counts 0 of 0."""
    if frame.empty or "trials" not in frame:
        return np.zeros((len(index), 2))
    sums = frame.groupby("period")[["events", "trials"]].sum()
    sums.index = pd.DatetimeIndex(sums.index)
    return sums.reindex(index).fillna(0.0).to_numpy(dtype=float)


def _fmt(value: float) -> str:
    return f"{value:,.4g}"


def _beyond(value: float, op: str, bound: float) -> bool:
    return {">": value > bound, ">=": value >= bound, "<": value < bound, "<=": value <= bound}[op]


def _current(values: np.ndarray, at: int) -> float | None:
    if at < 0 or at >= len(values) or math.isnan(values[at]):
        return None
    return float(values[at])


def threshold(
    values: np.ndarray, at: int, condition: Threshold, levels: dict[str, Any] | None = None
) -> Outcome:
    """Fires when the last `for_periods` values are all beyond the bound; with registry
    levels the severity is critical beyond the critical threshold, else high."""
    observed = _current(values, at)
    if observed is None:
        return Outcome("no_data", detail="no value for the period")
    window = values[max(at - condition.for_periods + 1, 0) : at + 1]
    if len(window) < condition.for_periods or np.isnan(window).any():
        return Outcome("insufficient", observed, detail="not enough periods")
    if condition.levels == "registry":
        if levels is None:
            raise ValueError("registry levels need the metric's meta")
        op = "<" if levels["direction"] == "higher_is_better" else ">"
        for name, severity in (("critical_threshold", "critical"), ("warning_threshold", "high")):
            bound = float(levels[name])
            if all(_beyond(float(v), op, bound) for v in window):
                lower, upper = (bound, None) if op == "<" else (None, bound)
                return Outcome(
                    "firing",
                    observed,
                    float(levels["target"]),
                    lower,
                    upper,
                    f"{_fmt(observed)} {op} {name.removesuffix('_threshold')} threshold "
                    f"{_fmt(bound)}",
                    severity,
                )
        return Outcome("ok", observed, float(levels["target"]))
    assert condition.op is not None and condition.value is not None
    lower, upper = (
        (condition.value, None) if condition.op in ("<", "<=") else (None, condition.value)
    )
    fires = all(_beyond(float(v), condition.op, condition.value) for v in window)
    detail = f"{_fmt(observed)} {condition.op} {_fmt(condition.value)}"
    return _verdict(fires, observed, None, lower, upper, detail)


def threshold_statuses(values: np.ndarray, condition: Threshold) -> np.ndarray:
    """`threshold`'s status at every position at once (for backtests over long series):
    'no_data', 'insufficient', 'firing' or 'ok'. Bounds given as op and value only."""
    if condition.op is None or condition.value is None:
        raise ValueError("threshold_statuses needs op and value, not registry levels")
    present = ~np.isnan(values)
    compare = {">": np.greater, ">=": np.greater_equal, "<": np.less, "<=": np.less_equal}
    beyond = present & compare[condition.op](np.nan_to_num(values), condition.value)
    periods = condition.for_periods
    kernel = np.ones(periods, dtype=int)
    complete = np.convolve(present.astype(int), kernel)[: len(values)] == periods
    held = np.convolve(beyond.astype(int), kernel)[: len(values)] == periods
    statuses = np.where(held, "firing", "ok").astype(object)
    statuses[~complete] = "insufficient"
    statuses[~present] = "no_data"
    return statuses


def comparison_offset(grain: str, compare_to: str) -> int:
    """How many periods back the comparison period lies."""
    if compare_to == "previous":
        return 1
    if compare_to == "week":
        return PERIODS_PER_WEEK[grain]
    return PERIODS_PER_YEAR[grain]


def change(values: np.ndarray, at: int, condition: Change, grain: str) -> Outcome:
    """Percentage change of the period against the comparison period; undefined (not
    judged) when that period has no value or a value of 0."""
    observed = _current(values, at)
    if observed is None:
        return Outcome("no_data", detail="no value for the period")
    base = _current(values, at - comparison_offset(grain, condition.compare_to))
    if base is None:
        return Outcome("insufficient", observed, detail="no comparison period")
    if base == 0:
        return Outcome("insufficient", observed, 0.0, detail="comparison period is 0")
    percent = (observed - base) / abs(base) * 100
    bound = base + abs(base) * condition.percent / 100
    lower, upper = (bound, None) if condition.op in ("<", "<=") else (None, bound)
    fires = _beyond(percent, condition.op, condition.percent)
    detail = f"{percent:+.1f} % vs {condition.compare_to} period ({_fmt(base)})"
    return _verdict(fires, observed, base, lower, upper, detail)


def trend(values: np.ndarray, at: int, condition: Trend) -> Outcome:
    """A move sustained over the last `periods` periods (all present)."""
    observed = _current(values, at)
    if observed is None:
        return Outcome("no_data", detail="no value for the period")
    window = values[at - condition.periods + 1 : at + 1] if at + 1 >= condition.periods else []
    if len(window) < condition.periods or np.isnan(window).any():
        return Outcome("insufficient", observed, detail=f"needs {condition.periods} periods")
    sign = -1 if condition.direction == "falling" else 1
    first = float(window[0])
    if condition.method == "consecutive":
        steps = np.diff(window) * sign
        if (steps > 0).all():
            return Outcome(
                "firing",
                observed,
                first,
                None,
                None,
                f"{condition.direction} {condition.periods - 1} periods running "
                f"({_fmt(first)} → {_fmt(observed)})",
            )
        return Outcome("ok", observed, first)
    mean = float(np.mean(window))
    if mean == 0:
        return Outcome("insufficient", observed, detail="mean of the window is 0")
    slope = float(np.polyfit(np.arange(len(window)), window, 1)[0])
    slope_pct = slope / abs(mean) * 100
    assert condition.slope_pct is not None
    if slope_pct * sign > condition.slope_pct:
        return Outcome(
            "firing",
            observed,
            mean,
            None,
            None,
            f"slope {slope_pct:+.1f} % of the mean per period over {condition.periods}",
        )
    return Outcome("ok", observed, mean)


def robust_z(value: float, history: np.ndarray) -> tuple[float, float, float]:
    """(z, median, scale): the modified z-score of `value` against `history`, with sigma
    estimated by MAD ÷ 0.6745, or by the mean absolute deviation ÷ 0.7979 when the MAD is 0
    (more than half the history identical). A flat history gives z = 0 for the same
    value and ±inf for any other."""
    median = float(np.median(history))
    mad = float(np.median(np.abs(history - median)))
    scale = mad / MAD_SCALE if mad > 0 else float(np.mean(np.abs(history - median))) / MEAN_AD_SCALE
    if scale == 0:
        return (0.0 if value == median else math.copysign(math.inf, value - median)), median, 0.0
    return (value - median) / scale, median, scale


def seasonal_positions(
    index: pd.DatetimeIndex, grain: str, seasonality: str, coarse: bool = False
) -> np.ndarray | None:
    """The seasonal position of every period (weekday, or hour of the week), or with
    `coarse` the kind of day (weekday or weekend) and hour; None without seasonality."""
    if seasonality == "auto":
        seasonality = {"1d": "weekday", "1h": "hour_of_week", "5m": "hour_of_week"}.get(
            grain, "none"
        )
    if seasonality == "none":
        return None
    # from the datetime64 values (the pandas accessors cost more than the whole judgement
    # of a period in a backtest); 1970-01-01 was a Thursday, Monday is 0
    days = np.asarray(index.values.astype("datetime64[D]").astype(np.int64))
    day = (days + 3) % 7
    if coarse:
        day = (day >= 5).astype(int)
    if seasonality == "weekday":
        return day
    hours = np.asarray(index.values.astype("datetime64[h]").astype(np.int64))
    return day * 24 + hours % 24


def _large_enough(observed: float, expected: float, condition: Anomaly) -> bool:
    """The move is at least `min_change_pct` % of the expected value and `min_delta`."""
    move = abs(observed - expected)
    if condition.min_change_pct is not None and move < condition.min_change_pct / 100 * abs(
        expected
    ):
        return False
    return condition.min_delta is None or move >= condition.min_delta


def _judge(z: float, limit: float, direction: str) -> bool:
    if direction == "up":
        return z > limit
    if direction == "down":
        return z < -limit
    return abs(z) > limit


def anomaly(
    values: np.ndarray, index: pd.DatetimeIndex, at: int, condition: Anomaly, grain: str
) -> Outcome:
    """Robust z-score against the same seasonal position in the last `history` weeks (or
    the last `history` periods), or of the STL residual (`method: stl`)."""
    observed = _current(values, at)
    if observed is None:
        return Outcome("no_data", detail="no value for the period")
    if condition.method == "stl":
        return _stl_anomaly(values, at, condition, grain, observed)
    compared = "comparable periods"
    week = PERIODS_PER_WEEK.get(grain, 1)
    lo = max(at - condition.history * week, 0)
    window, recent = values[lo : at + 1], index[lo : at + 1]
    positions = seasonal_positions(recent, grain, condition.seasonality)
    if positions is None:
        history = values[max(at - condition.history, 0) : at]
        history = history[~np.isnan(history)]
    else:
        history = _same_position(window, positions)
        if len(history) < condition.min_history and condition.seasonal_fallback:
            coarse = seasonal_positions(recent, grain, condition.seasonality, coarse=True)
            assert coarse is not None
            history = _same_position(window, coarse)
            compared = "periods of the same kind of day (weekday/weekend)"
    if len(history) < condition.min_history:
        return Outcome("insufficient", observed, detail=f"{len(history)} comparable values")
    z, median, scale = robust_z(observed, history)
    band = condition.z * scale
    outcome = (median, median - band, median + band)
    if _judge(z, condition.z, condition.direction) and _large_enough(observed, median, condition):
        return Outcome(
            "firing",
            observed,
            *outcome,
            f"robust z {z:+.1f} against the median {_fmt(median)} of {len(history)} {compared}",
        )
    return Outcome("ok", observed, *outcome)


def _same_position(window: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """The values of `window` before its last one at the last one's seasonal position,
    missing ones left out."""
    history = window[:-1][positions[:-1] == positions[-1]]
    return history[~np.isnan(history)]


STL_PERIOD = {"5m": 288, "1h": 24, "1d": 7}
"""STL's seasonal period: a day for 5-minute and hourly buckets, a week for days."""


def _stl_anomaly(
    values: np.ndarray, at: int, condition: Anomaly, grain: str, observed: float
) -> Outcome:
    from statsmodels.tsa.seasonal import STL

    period = STL_PERIOD.get(grain)
    if period is None:
        raise ValueError("method: stl needs a grain of 5m, 1h or 1d")
    lo = max(at + 1 - max(condition.history, 2) * period, 0)
    window = pd.Series(values[lo : at + 1])
    if window.notna().sum() < max(2 * period + 1, condition.min_history):
        return Outcome("insufficient", observed, detail="not enough history for STL")
    filled = window.interpolate(limit_direction="both").to_numpy()
    fit = STL(filled, period=period, robust=True).fit()
    residuals = np.asarray(fit.resid)
    z, median, scale = robust_z(float(residuals[-1]), residuals[:-1])
    expected = float(observed - residuals[-1])
    band = condition.z * scale
    lower, upper = expected + median - band, expected + median + band
    large = _large_enough(observed, expected, condition)
    fires = _judge(z, condition.z, condition.direction) and large
    detail = f"STL residual z {z:+.1f} (expected {_fmt(expected)})"
    return _verdict(fires, observed, expected, lower, upper, detail)


def correlation(values: np.ndarray, other: np.ndarray, at: int, condition: Correlation) -> Outcome:
    """Residual of the period against an OLS fit of metric on `with_metric` over the
    previous `window` periods where both have values; its robust z beyond `z` fires."""
    observed = _current(values, at)
    driver = _current(other, at)
    if observed is None or driver is None:
        return Outcome("no_data", detail="no value for the period")
    lo = max(at - condition.window, 0)
    y, x = values[lo:at], other[lo:at]
    both = ~np.isnan(y) & ~np.isnan(x)
    y, x = y[both], x[both]
    if len(y) < condition.min_history:
        return Outcome("insufficient", observed, detail=f"{len(y)} paired periods")
    if np.ptp(x) == 0:
        slope, intercept = 0.0, float(np.mean(y))
    else:
        slope, intercept = (float(c) for c in np.polyfit(x, y, 1))
    residuals = y - (intercept + slope * x)
    expected = intercept + slope * driver
    z, median, scale = robust_z(observed - expected, residuals)
    band = condition.z * scale
    lower, upper = expected + median - band, expected + median + band
    fires = _judge(z, condition.z, condition.direction)
    detail = (
        f"{_fmt(observed)} where its relation to {condition.with_metric} "
        f"({_fmt(driver)}) expects {_fmt(expected)} (robust z {z:+.1f})"
    )
    return _verdict(fires, observed, expected, lower, upper, detail)


BINOMIAL_ALPHA = 1e-6
"""The default tail probability of `method: binomial`: a 5-minute rule judges about
100,000 windows a year per slice, so about one false alarm in ten years per slice."""


@dataclass(frozen=True)
class BinomialVerdicts:
    """`binomial_verdicts` at the positions asked for: status, the window's rate, the
    baseline rate, the window's trials and the tail probability."""

    status: np.ndarray
    observed: np.ndarray
    expected: np.ndarray
    trials: np.ndarray
    p_value: np.ndarray


def binomial_verdicts(
    counts: np.ndarray,
    positions: np.ndarray,
    condition: Anomaly,
    grain: str,
    window: int = 1,
    multiplier: float = 1.0,
) -> BinomialVerdicts:
    """Events among trials in the `window` periods ending at each of `positions`, against
    the pooled rate of the `history` weeks before that window (binomial tail test).

    The baseline rate is (E + 0.5) ÷ (N + 1) over those weeks (a Jeffreys-style estimate:
    never 0, so one error on a service with none in its history is not infinitely rare);
    it needs `min_history` periods with trials. A window with no trials is 'no_data',
    with fewer than `min_trials` 'insufficient'. Fires when P(X ≥ events) (up; P(X ≤
    events) down; twice the smaller, both) for X ~ Binomial(trials, baseline) is below
    `alpha` and the rate moved by `min_change_pct` / `min_delta` (in the metric's unit,
    i.e. after `multiplier`)."""
    from scipy.stats import binom

    positions = np.asarray(positions, dtype=int)
    events = np.concatenate([[0.0], np.cumsum(counts[:, 0])])
    trials = np.concatenate([[0.0], np.cumsum(counts[:, 1])])
    active = np.concatenate([[0], np.cumsum(counts[:, 1] > 0)])
    end = positions + 1
    start = np.maximum(end - window, 0)
    base_start = np.maximum(start - condition.history * PERIODS_PER_WEEK.get(grain, 1), 0)
    k, n = events[end] - events[start], trials[end] - trials[start]
    base_k, base_n = events[start] - events[base_start], trials[start] - trials[base_start]
    base_periods = active[start] - active[base_start]
    rate = (base_k + 0.5) / (base_n + 1)
    up = binom.sf(k - 1, n, rate)
    down = binom.cdf(k, n, rate)
    p_value = {"up": up, "down": down, "both": np.minimum(2 * np.minimum(up, down), 1.0)}[
        condition.direction
    ]
    alpha = condition.alpha or BINOMIAL_ALPHA
    with np.errstate(invalid="ignore", divide="ignore"):
        observed = np.where(n > 0, k / n, np.nan) * multiplier
    expected = rate * multiplier
    move = np.abs(observed - expected)
    large = np.ones(len(positions), dtype=bool)
    if condition.min_change_pct is not None:
        large &= move >= condition.min_change_pct / 100 * np.abs(expected)
    if condition.min_delta is not None:
        large &= move >= condition.min_delta
    status = np.where((p_value < alpha) & large, "firing", "ok").astype(object)
    status[(n < (condition.min_trials or 1)) | (base_periods < condition.min_history)] = (
        "insufficient"
    )
    status[n == 0] = "no_data"
    return BinomialVerdicts(status, observed, expected, n, p_value)


def binomial_anomaly(
    counts: np.ndarray,
    at: int,
    condition: Anomaly,
    grain: str,
    window: int = 1,
    multiplier: float = 1.0,
) -> Outcome:
    """`binomial_verdicts` at one position, as an Outcome."""
    verdict = binomial_verdicts(counts, np.array([at]), condition, grain, window, multiplier)
    status = str(verdict.status[0])
    observed, expected = float(verdict.observed[0]), float(verdict.expected[0])
    if status == "no_data":
        return Outcome("no_data", detail="no trials in the window")
    if status == "insufficient":
        return Outcome("insufficient", observed, expected, detail="too few trials or history")
    upper = None
    if condition.direction == "up":
        from scipy.stats import binom

        # the lowest rate that fires: one event above the binomial quantile at 1 - alpha
        trials = float(verdict.trials[0])
        bound = binom.isf(condition.alpha or BINOMIAL_ALPHA, trials, expected / multiplier)
        upper = float((bound + 1) / trials * multiplier)
    if status == "firing":
        events = round(float(counts[max(at + 1 - window, 0) : at + 1, 0].sum()))
        return Outcome(
            "firing",
            observed,
            expected,
            None,
            upper,
            f"{events} of {round(float(verdict.trials[0]))} against a rate of {_fmt(expected)} "
            f"(binomial p = {float(verdict.p_value[0]):.1e})",
        )
    return Outcome("ok", observed, expected, None, upper)
