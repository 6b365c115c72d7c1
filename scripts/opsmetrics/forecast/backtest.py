"""`opsmetrics bench forecast`: measured accuracy of the forecasts and of the churn score.

Rolling origin: for each series and each of several cut-off dates (`origins_for`),
every model is fitted on the data up to the cut-off and scored on the horizon after
it: MASE (scaled by the training data's seasonal-naive MAE), MAPE and the share of
actuals inside the 80 % and 95 % intervals, with a standard error clustered by cut-off
(`clustered_coverage`: the days of one cut-off's horizon are not independent). `ets`,
`ets_damped` and `seasonal_naive` are the models' own forecasts and intervals; "chosen" is
what `opsmetrics forecast` would have written at that cut-off (`models.forecast`: the
per-series choice by rolling-origin accuracy per horizon step, its intervals calibrated on
rolling-origin errors, all inside the data before the cut-off: the cut-offs scored here
never calibrate or choose anything).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from opsmetrics.forecast import churn, models
from opsmetrics.forecast.run import latest_day, read_slices
from opsmetrics.forecast.series import MONTH, SERIES, SeriesSpec, last_complete_month, prepare
from opsmetrics.forecast.warehouse import connect

CHOSEN = "chosen"
ALL_SERIES = "all series"
CHURN_BACKTEST_MONTHS = 6


@dataclass(frozen=True)
class Score:
    """One model's accuracy at one cut-off of one series."""

    metric: str
    slice_value: str
    model: str
    origin: date
    mase: float
    mape: float
    coverage_80: float
    coverage_95: float
    points: int
    inside_80: int
    inside_95: int


def origins_for(spec: SeriesSpec, series: pd.Series, horizon: int, count: int) -> list[int]:
    """Positions of the cut-offs: the last leaves exactly `horizon` periods to score, the
    earlier ones step back by `horizon` (daily series: at most 28 days, so that the 90-day
    capacity series keep several origins); each keeps at least the minimum history."""
    step = horizon if spec.grain == MONTH else min(horizon, 28)
    last = len(series) - horizon
    cuts = [last - k * step for k in range(count)]
    return sorted(cut for cut in cuts if cut >= spec.min_history)


def score_slice(
    spec: SeriesSpec, slice_value: str, series: pd.Series, horizon: int, count: int
) -> list[Score]:
    """Every model's scores at every cut-off of one slice."""
    y = series.to_numpy(dtype=float)
    scores = []
    for cut in origins_for(spec, series, horizon, count):
        train, test = y[:cut], y[cut : cut + horizon]
        scale = models.mase_scale(train, spec.period)
        try:
            result = models.forecast(train, horizon, spec.period, spec.window)
        except models.ModelError:
            continue
        predictions = {
            model: prediction.clipped(spec.floor, spec.ceiling)
            for model, prediction in {**result.raw, CHOSEN: result.prediction}.items()
        }
        for model, prediction in predictions.items():
            inside = {level: _inside(test, prediction, level) for level in models.LEVELS}
            scores.append(
                Score(
                    metric=spec.metric,
                    slice_value=slice_value,
                    model=model,
                    origin=series.index[cut - 1].date(),
                    mase=models.mase(test, prediction.point, scale),
                    mape=models.mape(test, prediction.point),
                    coverage_80=models.coverage(test, prediction, 80),
                    coverage_95=models.coverage(test, prediction, 95),
                    points=len(test),
                    inside_80=inside[80],
                    inside_95=inside[95],
                )
            )
    return scores


def _inside(actual: np.ndarray, prediction: models.Prediction, level: int) -> int:
    lower, upper = prediction.bounds(level)
    n = len(actual)
    return int(np.sum((actual >= lower[:n]) & (actual <= upper[:n])))


def clustered_coverage(
    inside: np.ndarray, points: np.ndarray, clusters: np.ndarray
) -> tuple[float, float]:
    """Pooled coverage (%) of `inside` actuals out of `points`, and its standard error (%)
    with the observations clustered by `clusters` (one label per row; rows of one label
    are one cluster). The days of one cut-off's horizon miss or hit together (one trend
    break moves them all), so a binomial standard error over days would be far too small.
    The ratio estimator's cluster-robust (sandwich) variance with the small-sample factor
    G / (G - 1), G the number of clusters: sum over clusters of (inside_g - p * points_g)^2,
    divided by the squared total of points. Nan standard error with one cluster."""
    frame = pd.DataFrame({"inside": inside, "points": points, "cluster": clusters})
    by_cluster = frame.groupby("cluster")[["inside", "points"]].sum()
    total = by_cluster["points"].sum()
    if not total:
        return float("nan"), float("nan")
    share = by_cluster["inside"].sum() / total
    groups = len(by_cluster)
    if groups < 2:
        return float(share * 100), float("nan")
    residual = by_cluster["inside"] - share * by_cluster["points"]
    variance = groups / (groups - 1) * float((residual**2).sum()) / total**2
    return float(share * 100), float(np.sqrt(variance) * 100)


def backtest_series(target: str = "duckdb", count: int = 12) -> pd.DataFrame:
    """Rolling-origin scores of every configured series on the warehouse of `target`."""
    with connect(target) as warehouse:
        latest = latest_day(warehouse)
        slices = [(spec, read_slices(warehouse, spec)) for spec in SERIES]
    with models.one_blas_thread():
        return pd.DataFrame(_score_all(slices, latest, count))


def _score_all(
    slices: list[tuple[SeriesSpec, dict[str, pd.DataFrame]]], latest: date, count: int
) -> list[dict]:
    rows = []
    for spec, by_value in slices:
        horizon = spec.horizon
        for value, frame in by_value.items():
            series = prepare(frame, spec, latest)
            label = f"{spec.metric} ({spec.slice_name}, {spec.grain})"
            rows += [
                {**score.__dict__, "series": label}
                for score in score_slice(spec, value, series, horizon, count)
            ]
    return rows


def summarise(scores: pd.DataFrame) -> pd.DataFrame:
    """Per series family and model: mean MASE and MAPE over slices and cut-offs, coverage
    pooled over every scored point; then per model over every series (`series` "all")."""
    keys = ["series", "model"]
    families = _pooled(scores, keys).join(
        scores.groupby(keys).agg(slices=("slice_value", "nunique"), origins=("origin", "nunique"))
    )
    overall = _pooled(scores, ["model"])
    overall["series"] = ALL_SERIES
    overall["slices"] = (
        scores.drop_duplicates(["model", "metric", "slice_value"]).groupby("model").size()
    )
    overall["origins"] = scores.groupby("model")["origin"].nunique()
    return pd.concat([families.reset_index(), overall.reset_index()], ignore_index=True)


def churn_backtest(target: str = "duckdb") -> list[churn.BacktestMonth]:
    """The churn score's time-split backtest over the last CHURN_BACKTEST_MONTHS months
    whose next month is complete (their label is known)."""
    with connect(target) as warehouse:
        features = churn.read_features(warehouse)
        latest = latest_day(warehouse)
    labelled = features.loc[features["churned_next_month"].notna(), "month_start_date"]
    last = min(labelled.max(), pd.Timestamp(last_complete_month(latest)))
    months = sorted(m.date() for m in labelled.unique() if m <= last)[-CHURN_BACKTEST_MONTHS:]
    return churn.backtest(features, months)


def _time_forecast_run(metrics: list[str] | None = None) -> dict[str, float]:
    """One `opsmetrics forecast` (of `metrics`, default everything) in a child process: wall
    seconds, peak RSS and the machine's 1-minute load average before and after (other jobs
    on a shared machine)."""
    from opsmetrics.bench import _run_child

    before = os.getloadavg()[0]
    wall, peak_mib, _ = _run_child(
        f"from opsmetrics.forecast.run import run_forecast\nrun_forecast(metrics={metrics!r})\n"
    )
    return {
        "wall_seconds": round(wall, 1),
        "peak_rss_mib": round(peak_mib),
        "load_average": [round(before, 1), round(os.getloadavg()[0], 1)],
    }


def bench_forecast(scale: str = "medium", origins: int = 12, doc: Path | None = None) -> list[str]:
    """Run the backtests and one timed forecast run on the warehouse at
    OPSMETRICS_DUCKDB_PATH (built at `scale`); record the section in `doc` (default
    docs/benchmarks.md); return a short summary."""
    from opsmetrics.bench import _result, record

    timing = _time_forecast_run()
    series_timing = _time_forecast_run(sorted({spec.metric for spec in SERIES}))
    scores = backtest_series(count=origins)
    summary = summarise(scores)
    months = churn_backtest()
    result = _result(
        "forecast",
        scale,
        forecast_run=timing,
        series_run=series_timing,
        summary=summary.to_dict(orient="records"),
        per_slice=_per_slice(scores).to_dict(orient="records"),
        churn=[month.__dict__ for month in months],
        origins=origins,
    )
    record(result, doc, render=render_section)
    lines = [
        f"forecast {scale}: one full run {timing['wall_seconds']} s, "
        f"peak RSS {timing['peak_rss_mib']} MiB; the series alone "
        f"{series_timing['wall_seconds']} s"
    ]
    naive = summary[summary["model"] == models.SEASONAL_NAIVE].set_index("series")["mase"]
    for row in summary[summary["model"] == CHOSEN].to_dict(orient="records"):
        lines.append(
            f"{row['series']}: MASE {_fmt(row['mase'])} (seasonal naive "
            f"{_fmt(naive.get(row['series']))}), 80 % coverage {_coverage(row, 80)}, "
            f"95 % coverage {_coverage(row, 95)}"
        )
    if months:
        lines.append(
            f"churn: AUC {np.nanmean([m.auc for m in months]):.3f} vs baseline "
            f"{np.nanmean([m.baseline_auc for m in months]):.3f}"
        )
    return lines


def _per_slice(scores: pd.DataFrame) -> pd.DataFrame:
    """Per slice: mean MASE of each model (cut-offs averaged), one column per model, and
    the chosen forecast's MAPE and pooled 80 % and 95 % coverage."""
    table = scores.pivot_table(
        index=["metric", "slice_value"], columns="model", values="mase", aggfunc="mean"
    )
    chosen = _pooled(scores[scores["model"] == CHOSEN], ["metric", "slice_value"])
    columns = ["mape", "coverage_80", "coverage_80_se", "coverage_95", "coverage_95_se"]
    return table.join(chosen[columns].add_prefix("chosen_")).reset_index()


def _pooled(scores: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Mean MASE and MAPE per group, coverage pooled over every scored point with its
    standard error clustered by cut-off date (`clustered_coverage`; the slices of a family
    cut at the same date share its shocks, so they form one cluster)."""
    pooled = scores.groupby(keys, sort=True).agg(
        mase=("mase", "mean"), mape=("mape", "mean"), points=("points", "sum")
    )
    return pooled.join(scores.groupby(keys, sort=True)[_COVERAGE_INPUTS].apply(_coverages))


_COVERAGE_INPUTS = ["inside_80", "inside_95", "points", "origin"]


def _coverages(group: pd.DataFrame) -> pd.Series:
    values = {}
    for level in models.LEVELS:
        share, error = clustered_coverage(
            group[f"inside_{level}"].to_numpy(),
            group["points"].to_numpy(),
            group["origin"].to_numpy(),
        )
        values[f"coverage_{level}"], values[f"coverage_{level}_se"] = share, error
    return pd.Series(values)


def _fmt(value: float, digits: int = 2) -> str:
    return "n/a" if value is None or not np.isfinite(value) else f"{value:.{digits}f}"


def _coverage(row: dict, level: int) -> str:
    """'share ± 2 SE' of a pooled coverage (the SE clustered by cut-off)."""
    share, error = row.get(f"coverage_{level}"), row.get(f"coverage_{level}_se")
    if error is None or not np.isfinite(error):
        return _fmt(share, 1)
    return f"{_fmt(share, 1)} ± {2 * error:.1f}"


def load_note(load: list[float], cores: object) -> str:
    """What the load average says about the timing: other jobs ran only when the load
    went above the machine's core count (`cores`: a number, or its text as the bench's
    machine description records it)."""
    try:
        count = int(str(cores))
    except ValueError:
        return "core count unknown"
    if max(load) > count:
        return f"above {count} cores: other jobs were running"
    return f"at most {count} cores: the machine was not oversubscribed"


def render_section(result: dict) -> str:
    """The docs/benchmarks.md section of `bench forecast`."""
    timing = result["forecast_run"]
    load = timing["load_average"]
    series = result["series_run"]
    lines = [
        f"## forecast, scale {result['scale']}",
        "",
        f"Run {result['date']}. One full `opsmetrics forecast` (every series, model choice, "
        f"both forecasting tables and the churn score) took **{timing['wall_seconds']} s** "
        f"wall time (Python start included), **{timing['peak_rss_mib']} MiB** peak RSS; the "
        f"machine's 1-minute load average was {load[0]} before and {load[1]} after "
        f"({load_note(load, result['machine'].get('cores (nproc)'))}). "
        f"The series alone (`--metric` every forecast metric, no churn score): "
        f"**{series['wall_seconds']} s**, load average {series['load_average'][0]} before and "
        f"{series['load_average'][1]} after.",
        "",
        f"Rolling-origin backtest, {result['origins']} cut-offs per series (the last one a "
        "full horizon before the last day, the earlier ones 28 days apart for daily series, "
        "one horizon apart for monthly ones). MASE: mean absolute error over the horizon "
        "divided by the training data's in-sample seasonal-naive MAE (lower is better, < 1 "
        "beats the baseline's in-sample error); MAPE over non-zero actuals; coverage: share "
        "of actuals inside the interval, pooled over slices, cut-offs and horizon days, "
        "± 2 standard errors clustered by cut-off date (the days of one cut-off's horizon, "
        "and the slices cut on the same date, miss or hit together; a binomial error over "
        "days would be several times smaller). `ets`, `ets_damped` and `seasonal_naive` "
        "are the models' own forecasts and intervals; `chosen` is what `opsmetrics "
        "forecast` writes: each ETS's parameters fitted on the first half of the data "
        "before the cut-off, the per-series choice by the mean absolute error of each "
        "horizon step over the rolling origins of the second half, averaged over the steps, "
        "its intervals calibrated per horizon step on the same origins' errors (out of "
        "sample for the parameters), the forecast from the chosen model refitted on all of "
        "it (docs/decisions.md, Issue 18 sessions 6 and 8). Nothing is chosen or calibrated "
        "on the cut-offs scored. `all series` pools every point.",
        "",
        "| series | model | slices | MASE | MAPE % | 80 % coverage ± 2 SE | "
        "95 % coverage ± 2 SE | points |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in result["summary"]:
        lines.append(
            f"| {row['series']} | {row['model']} | {row['slices']} | {_fmt(row['mase'])} | "
            f"{_fmt(row['mape'], 1)} | {_coverage(row, 80)} | "
            f"{_coverage(row, 95)} | {row['points']} |"
        )
    lines += [
        "",
        "Per slice, mean MASE over the cut-offs, and the chosen forecast's MAPE and coverage:",
        "",
        "| metric | slice | MASE ets | MASE ets_damped | MASE seasonal_naive | MASE chosen | "
        "MAPE % chosen | 80 % coverage chosen ± 2 SE | 95 % coverage chosen ± 2 SE |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in result["per_slice"]:
        chosen = {
            key.removeprefix("chosen_"): value
            for key, value in row.items()
            if key.startswith("chosen_")
        }
        lines.append(
            f"| {row['metric']} | {row['slice_value']} | {_fmt(row.get(models.ETS))} | "
            f"{_fmt(row.get(models.ETS_DAMPED))} | {_fmt(row.get(models.SEASONAL_NAIVE))} | "
            f"{_fmt(row.get(CHOSEN))} | {_fmt(row.get('chosen_mape'), 1)} | "
            f"{_coverage(chosen, 80)} | {_coverage(chosen, 95)} |"
        )
    lines += [
        "",
        "Churn risk, time-split backtest (train on the months before T, score the customers "
        "active at the end of T, label: churned in T + 1); baseline: contracted last month.",
        "",
        "| month T | customers | churners | AUC | baseline AUC | precision top decile | "
        "baseline precision top decile |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for month in result["churn"]:
        lines.append(
            f"| {month['month']:%Y-%m} | {month['customers']} | {month['churners']} | "
            f"{_fmt(month['auc'], 3)} | {_fmt(month['baseline_auc'], 3)} | "
            f"{_fmt(month['precision_top_decile'], 3)} | "
            f"{_fmt(month['baseline_precision_top_decile'], 3)} |"
        )
    machine = "; ".join(f"{k} {v}" for k, v in result["machine"].items())
    lines += ["", f"Machine: {machine}.", ""]
    return "\n".join(lines)
