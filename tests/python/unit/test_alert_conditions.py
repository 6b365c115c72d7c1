"""The alert condition kinds on hand-made series: each fires on what it is meant to see
and stays silent (or says why it cannot judge) on the edges."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from opsmetrics.alerts import conditions
from opsmetrics.alerts.evaluate import breach_message
from opsmetrics.alerts.rules import Anomaly, Change, Correlation, Threshold, Trend

NAN = math.nan
LEVELS = {
    "target": 0.5,
    "warning_threshold": 1.0,
    "critical_threshold": 2.0,
    "direction": "lower_is_better",
}


def values(*items: float) -> np.ndarray:
    return np.array(items, dtype=float)


def days(count: int, start: str = "2025-01-06") -> pd.DatetimeIndex:
    return pd.date_range(start, periods=count, freq="D")


def test_regular_series_turns_missing_days_into_nan_up_to_the_judged_period() -> None:
    frame = pd.DataFrame(
        {"period": pd.to_datetime(["2025-01-01", "2025-01-03"]), "value": [1.0, 3.0]}
    )
    series = conditions.regular_series(frame, "1d", pd.Timestamp("2025-01-05"))
    assert list(series.index.day) == [1, 2, 3, 4, 5]
    assert series.isna().tolist() == [False, True, False, True, True]


def test_threshold_fires_only_when_every_period_of_the_run_is_beyond() -> None:
    rule = Threshold(kind="threshold", op=">", value=5, for_periods=2)
    assert conditions.threshold(values(1, 6, 7), 2, rule).status == "firing"
    assert conditions.threshold(values(6, 1, 7), 2, rule).status == "ok"
    assert conditions.threshold(values(7), 0, rule).status == "insufficient"  # first period
    assert conditions.threshold(values(6, NAN, 7), 2, rule).status == "insufficient"
    assert conditions.threshold(values(6, 7, NAN), 2, rule).status == "no_data"


def test_registry_levels_give_critical_beyond_critical_and_high_beyond_warning() -> None:
    rule = Threshold(kind="threshold", levels="registry")
    critical = conditions.threshold(values(2.5), 0, rule, LEVELS)
    warning = conditions.threshold(values(1.5), 0, rule, LEVELS)
    fine = conditions.threshold(values(0.7), 0, rule, LEVELS)
    assert (critical.status, critical.severity, critical.upper) == ("firing", "critical", 2.0)
    assert (warning.status, warning.severity, warning.upper) == ("firing", "high", 1.0)
    assert fine.status == "ok"
    higher_is_better = {**LEVELS, "direction": "higher_is_better", "warning_threshold": 99.5,
                        "critical_threshold": 99.0, "target": 99.9}  # fmt: skip
    assert conditions.threshold(values(98), 0, rule, higher_is_better).severity == "critical"
    assert conditions.threshold(values(99.9), 0, rule, higher_is_better).status == "ok"


def test_change_against_previous_week_and_year_with_zero_and_missing_bases() -> None:
    drop = Change(kind="change", compare_to="previous", op="<", percent=-10)
    outcome = conditions.change(values(100, 85), 1, drop, "1d")
    assert outcome.status == "firing" and outcome.expected == 100 and outcome.lower == 90
    assert conditions.change(values(100, 95), 1, drop, "1d").status == "ok"
    assert conditions.change(values(0, 5), 1, drop, "1d").status == "insufficient"
    assert conditions.change(values(NAN, 5), 1, drop, "1d").status == "insufficient"
    assert conditions.change(values(5), 0, drop, "1d").status == "insufficient"  # first period
    week = Change(kind="change", compare_to="week", op="<", percent=-10)
    series = values(100, 1, 1, 1, 1, 1, 1, 80)
    assert conditions.change(series, 7, week, "1d").status == "firing"
    year = Change(kind="change", compare_to="year", op=">", percent=50)
    monthly = values(10, *[1] * 11, 16)
    assert conditions.change(monthly, 12, year, "30d").status == "firing"
    negative_base = conditions.change(values(-100, -120), 1, drop, "1d")
    assert negative_base.status == "firing"  # -120 is 20 % below -100


def test_trend_consecutive_and_slope() -> None:
    falling = Trend(kind="trend", direction="falling", periods=4)
    assert conditions.trend(values(9, 8, 7, 6), 3, falling).status == "firing"
    assert conditions.trend(values(9, 8, 8, 6), 3, falling).status == "ok"  # flat step
    assert conditions.trend(values(8, 7, 6), 2, falling).status == "insufficient"
    assert conditions.trend(values(9, NAN, 7, 6), 3, falling).status == "insufficient"
    slope = Trend(kind="trend", direction="rising", periods=5, method="slope", slope_pct=5)
    assert conditions.trend(values(100, 107, 111, 120, 126), 4, slope).status == "firing"
    assert conditions.trend(values(100, 101, 100, 101, 100), 4, slope).status == "ok"
    assert conditions.trend(values(0, 0, 0, 0, 0), 4, slope).status == "insufficient"


def test_robust_z_uses_mean_deviation_when_mad_is_zero_and_handles_flat_history() -> None:
    z, median, _ = conditions.robust_z(10.0, values(1, 1, 1, 1, 2))
    assert median == 1 and z == pytest.approx((10 - 1) / (0.2 / 0.7979))
    assert conditions.robust_z(1.0, values(1, 1, 1))[0] == 0
    assert conditions.robust_z(2.0, values(1, 1, 1))[0] == math.inf


def test_anomaly_compares_with_the_same_weekday_only() -> None:
    """Mondays are always 100, other days 10: a Monday of 100 is normal, a Tuesday of 100
    is not, although 100 is the series' most common large value."""
    rule = Anomaly(kind="anomaly", z=3.5, history=8, min_history=6)
    weekly = np.tile(values(100, 10, 11, 9, 10, 12, 10), 9)
    index = days(len(weekly))  # starts on a Monday
    noisy = weekly + np.tile(values(1, -1, 0, 1, -1, 0, 1), 9)
    assert conditions.anomaly(noisy, index, 56, rule, "1d").status == "ok"  # a Monday
    spiked = noisy.copy()
    spiked[57] = 100  # a Tuesday
    outcome = conditions.anomaly(spiked, index, 57, rule, "1d")
    assert outcome.status == "firing" and outcome.expected == pytest.approx(10, abs=1)
    no_season = Anomaly(kind="anomaly", seasonality="none", z=3.5, history=8, min_history=6)
    assert conditions.anomaly(noisy, index, 56, no_season, "1d").status == "firing"


def test_anomaly_needs_its_minimum_history_and_skips_missing_days() -> None:
    rule = Anomaly(kind="anomaly", z=3.5, history=8, min_history=6)
    series = np.full(5 * 7, 10.0)
    series[::7] = NAN  # every Monday missing
    assert conditions.anomaly(series, days(35), 28, rule, "1d").status == "no_data"
    series[28] = 50
    outcome = conditions.anomaly(series, days(35), 28, rule, "1d")
    assert outcome.status == "insufficient"  # no earlier Monday has a value


def test_anomaly_direction_down_ignores_spikes_up() -> None:
    rule = Anomaly(kind="anomaly", seasonality="none", history=10, min_history=6, direction="down")
    series = values(10, 11, 9, 10, 12, 10, 9, 11, 10, 10, 40)
    assert conditions.anomaly(series, days(11), 10, rule, "1d").status == "ok"
    series[10] = 0
    assert conditions.anomaly(series, days(11), 10, rule, "1d").status == "firing"


def test_stl_anomaly_finds_a_spike_in_a_weekly_seasonal_series() -> None:
    rng = np.random.default_rng(1)
    weekly = np.tile(values(50, 60, 62, 61, 58, 30, 25), 8) + rng.normal(0, 1, 56)
    rule = Anomaly(kind="anomaly", method="stl", z=4, history=8, min_history=15)
    assert conditions.anomaly(weekly, days(56), 55, rule, "1d").status == "ok"
    weekly[55] += 30
    assert conditions.anomaly(weekly, days(56), 55, rule, "1d").status == "firing"
    assert conditions.anomaly(weekly[:10], days(10), 9, rule, "1d").status == "insufficient"


def test_correlation_fires_when_cpu_rises_while_throughput_is_flat() -> None:
    rng = np.random.default_rng(3)
    throughput = rng.uniform(1, 3, 30)
    cpu = 10 + 20 * throughput + rng.normal(0, 0.5, 30)
    rule = Correlation(kind="correlation", with_metric="throughput_rps", window=28, z=4,
                       min_history=14, direction="up")  # fmt: skip
    assert conditions.correlation(cpu, throughput, 29, rule).status == "ok"
    cpu[29] = 10 + 20 * throughput[29] + 15  # same traffic, much more CPU
    outcome = conditions.correlation(cpu, throughput, 29, rule)
    assert outcome.status == "firing"
    assert outcome.expected == pytest.approx(10 + 20 * throughput[29], abs=1)
    short = conditions.correlation(cpu[:10], throughput[:10], 9, rule)
    assert short.status == "insufficient"


def test_correlation_with_a_flat_driver_compares_with_the_mean() -> None:
    rule = Correlation(kind="correlation", with_metric="x", window=10, z=3, min_history=5)
    flat = np.full(11, 2.0)
    cpu = values(50, 51, 49, 50, 52, 48, 50, 51, 49, 50, 80)
    assert conditions.correlation(cpu, flat, 10, rule).status == "firing"
    missing_driver = flat.copy()
    missing_driver[10] = NAN
    assert conditions.correlation(cpu, missing_driver, 10, rule).status == "no_data"


def test_anomaly_minimum_move_silences_rare_but_tiny_departures() -> None:
    """A history with a tiny spread makes any small move 'rare': min_change_pct and
    min_delta require the move to matter as well."""
    history = values(10, 10.1, 9.9, 10, 10.1, 9.9, 10, 10.05)
    series = np.append(history, 11.0)  # z ≈ +13, a 10 % move
    plain = Anomaly(kind="anomaly", seasonality="none", history=8, min_history=6)
    relative = plain.model_copy(update={"min_change_pct": 20})
    absolute = plain.model_copy(update={"min_delta": 2})
    assert conditions.anomaly(series, days(9), 8, plain, "1d").status == "firing"
    assert conditions.anomaly(series, days(9), 8, relative, "1d").status == "ok"
    assert conditions.anomaly(series, days(9), 8, absolute, "1d").status == "ok"
    series[8] = 13.0
    assert conditions.anomaly(series, days(9), 8, relative, "1d").status == "firing"
    assert conditions.anomaly(series, days(9), 8, absolute, "1d").status == "firing"


def test_seasonal_fallback_judges_a_young_series_against_the_same_kind_of_day() -> None:
    """Three weeks of weekdays near 10 and weekends near 4: too few same-weekday values for
    min_history 6, but enough weekdays (or weekend days) to judge against."""
    week = values(10, 11, 9, 10, 10.5, 4, 4.5)
    series = np.append(np.tile(week, 3) + np.tile(values(0, 0.5, -0.5, 0.2, 0, 0.3, -0.2), 3), 10)
    index = days(len(series))  # starts on a Monday; position 21 is a Monday
    strict = Anomaly(kind="anomaly", seasonality="weekday", z=3.5, history=8, min_history=6)
    fallback = strict.model_copy(update={"seasonal_fallback": True})
    assert conditions.anomaly(series, index, 21, strict, "1d").status == "insufficient"
    judged = conditions.anomaly(series, index, 21, fallback, "1d")
    assert judged.status == "ok" and "same kind of day" not in judged.detail
    series[21] = 30
    spiked = conditions.anomaly(series, index, 21, fallback, "1d")
    assert spiked.status == "firing" and spiked.expected == pytest.approx(10, abs=0.5)
    assert "15 periods of the same kind of day" in spiked.detail
    saturday = np.append(np.tile(week, 3), week)  # position 26 is the fourth Saturday
    saturday[26] = 10  # a weekday's level on a Saturday
    outcome = conditions.anomaly(saturday, days(28), 26, fallback, "1d")
    assert outcome.status == "firing" and outcome.expected == pytest.approx(4.25, abs=0.3)


@pytest.mark.parametrize(("op", "for_periods"), [(">", 1), (">=", 3), ("<", 2), ("<=", 1)])
def test_threshold_statuses_at_once_equal_the_period_by_period_verdicts(
    op: str, for_periods: int
) -> None:
    rng = np.random.default_rng(7)
    series = rng.integers(0, 10, 400).astype(float)
    series[rng.random(400) < 0.1] = NAN
    rule = Threshold(kind="threshold", op=op, value=5, for_periods=for_periods)
    one_by_one = [conditions.threshold(series, at, rule).status for at in range(len(series))]
    assert list(conditions.threshold_statuses(series, rule)) == one_by_one
    assert {"firing", "ok", "no_data", "insufficient"} <= set(one_by_one) | {"insufficient"}


def counts(events: list[float], trials: list[float]) -> np.ndarray:
    return np.column_stack([values(*events), values(*trials)])


BINOMIAL = Anomaly(kind="anomaly", method="binomial", history=3, min_history=7, direction="up")
"""Days: the baseline is the 21 days before the window, of which 7 must have trials."""


def test_binomial_fires_on_a_few_errors_among_few_requests_against_a_low_base_rate() -> None:
    """21 days of 1 error in 250 requests (0.4 %), then a day of 3 errors in 10 requests:
    30 % is no reliable rate, but 3 errors in 10 at 0.4 % has a tail of about 1e-4."""
    loose = BINOMIAL.model_copy(update={"alpha": 1e-3})
    burst = counts([1] * 21 + [3], [250] * 21 + [10])
    outcome = conditions.binomial_anomaly(burst, 21, loose, "1d", multiplier=100)
    assert outcome.status == "firing" and outcome.observed == pytest.approx(30)
    assert outcome.expected == pytest.approx(21.5 / 5251 * 100)
    assert "3 of 10" in outcome.detail
    assert outcome.upper == pytest.approx(20)  # 2 of 10 already has a tail below 1e-3
    assert conditions.binomial_anomaly(burst, 21, BINOMIAL, "1d").status == "ok"  # alpha 1e-6
    one = counts([1] * 21 + [1], [250] * 21 + [10])
    assert conditions.binomial_anomaly(one, 21, loose, "1d").status == "ok"  # 1 in 10: chance


def test_binomial_edges_zero_requests_first_period_and_a_flat_error_free_history() -> None:
    quiet = counts([1] * 21 + [0], [250] * 21 + [0])
    assert conditions.binomial_anomaly(quiet, 21, BINOMIAL, "1d").status == "no_data"
    first = counts([5], [10])
    assert conditions.binomial_anomaly(first, 0, BINOMIAL, "1d").status == "insufficient"
    young = counts([0] * 6 + [8], [100] * 6 + [10])  # 6 days of history, 7 needed
    assert conditions.binomial_anomaly(young, 6, BINOMIAL, "1d").status == "insufficient"
    # never an error in 2,100 requests: the rate is 0.5 / 2,101, not 0, so one error is
    # no alarm while 8 of 10 is
    flat = counts([0] * 21 + [1], [100] * 21 + [10])
    assert conditions.binomial_anomaly(flat, 21, BINOMIAL, "1d").status == "ok"
    flat[21, 0] = 8
    assert conditions.binomial_anomaly(flat, 21, BINOMIAL, "1d").status == "firing"
    guarded = BINOMIAL.model_copy(update={"min_trials": 20})
    assert conditions.binomial_anomaly(flat, 21, guarded, "1d").status == "insufficient"


def test_binomial_window_sums_its_periods_and_baseline_precedes_the_window() -> None:
    """Two days of 3 errors in 5 requests: each alone stays below the bound, their sum
    (6 of 10) does not; the window's own days are not part of its baseline."""
    rule = BINOMIAL.model_copy(update={"alpha": 1e-9})
    series = counts([1] * 21 + [3, 3], [250] * 21 + [5, 5])
    assert conditions.binomial_anomaly(series, 22, rule, "1d").status == "ok"
    windowed = conditions.binomial_anomaly(series, 22, rule, "1d", window=2)
    assert windowed.status == "firing" and windowed.expected == pytest.approx(21.5 / 5251)


def test_binomial_minimum_move_and_direction_down() -> None:
    busy = counts([40] * 21 + [100], [10_000] * 21 + [10_000])  # 0.4 % → 1 %: significant
    assert conditions.binomial_anomaly(busy, 21, BINOMIAL, "1d", multiplier=100).status == (
        "firing"
    )
    material = BINOMIAL.model_copy(update={"min_delta": 5})  # at least 5 points
    assert conditions.binomial_anomaly(busy, 21, material, "1d", multiplier=100).status == "ok"
    down = BINOMIAL.model_copy(update={"direction": "down"})
    assert conditions.binomial_anomaly(busy, 21, down, "1d").status == "ok"
    busy[21, 0] = 0
    assert conditions.binomial_anomaly(busy, 21, down, "1d").status == "firing"


def test_binomial_verdicts_at_once_equal_the_period_by_period_outcomes() -> None:
    rng = np.random.default_rng(11)
    trials = rng.poisson(8, 200).astype(float)
    events = rng.binomial(trials.astype(int), 0.01).astype(float)
    events[[60, 61, 150]] = np.minimum(trials[[60, 61, 150]], 6)
    series = np.column_stack([events, trials])
    rule = BINOMIAL.model_copy(update={"min_trials": 3})
    at_once = conditions.binomial_verdicts(series, np.arange(200), rule, "1d", window=2).status
    one_by_one = [
        conditions.binomial_anomaly(series, at, rule, "1d", window=2).status for at in range(200)
    ]
    assert list(at_once) == one_by_one
    assert {"firing", "ok", "insufficient"} <= set(one_by_one)


@pytest.mark.parametrize(
    ("days", "earliest", "latest", "expected"),
    [
        (
            12,
            "2025-07-09",
            "2025-07-20",
            "in 12 days, on 2025-07-13 (95 % band 2025-07-09 to 2025-07-20)",
        ),
        (1, "2025-07-13", "2025-07-13", "in 1 day, on 2025-07-13 (95 % band 2025-07-13) (ets)"),
        (0, None, None, "today, on 2025-07-13 (ets)"),
        (-2, None, None, "today, on 2025-07-13 (ets)"),
    ],
)
def test_a_forecast_breach_says_when_in_plain_words(days, earliest, latest, expected) -> None:
    message = breach_message(
        "critical", 90.0, days, pd.Timestamp("2025-07-13"), earliest, latest, "ets"
    )
    assert message.startswith("projected to breach its critical threshold 90 ")
    assert expected in message
