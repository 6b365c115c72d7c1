"""`opsmetrics bench forecast`: measured accuracy of the forecasts and of the churn score.

Rolling origin: for each series and each of several cut-off dates (`origins_for`),
both models are fitted on the data up to the cut-off and scored on the horizon after
it: MASE (scaled by the training data's seasonal-naive MAE), MAPE and the share of
actuals inside the 80 % and 95 % intervals. `ets` and `seasonal_naive` are the models'
own forecasts and intervals; "chosen" is what `opsmetrics forecast` would have written
at that cut-off (`models.forecast`: the per-series choice by rolling-origin MASE, its
intervals calibrated on rolling-origin errors, all inside the data before the cut-off).
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
                )
            )
    return scores


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
    for row in summary[summary["model"] != CHOSEN].itertuples():
        lines.append(
            f"{row.series} {row.model}: MASE {row.mase:.2f}, 95 % coverage {row.coverage_95:.0f} %"
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
    columns = ["mape", "coverage_80", "coverage_95"]
    return table.join(chosen[columns].add_prefix("chosen_")).reset_index()


def _pooled(scores: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Mean MASE and MAPE per group, coverage pooled over every scored point."""
    frame = scores.assign(
        inside_80=scores["coverage_80"] * scores["points"] / 100,
        inside_95=scores["coverage_95"] * scores["points"] / 100,
    )
    pooled = frame.groupby(keys, sort=True).agg(
        mase=("mase", "mean"),
        mape=("mape", "mean"),
        inside_80=("inside_80", "sum"),
        inside_95=("inside_95", "sum"),
        points=("points", "sum"),
    )
    pooled["coverage_80"] = pooled["inside_80"] / pooled["points"] * 100
    pooled["coverage_95"] = pooled["inside_95"] / pooled["points"] * 100
    return pooled.drop(columns=["inside_80", "inside_95"])


def _fmt(value: float, digits: int = 2) -> str:
    return "n/a" if value is None or not np.isfinite(value) else f"{value:.{digits}f}"


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
        f"machine's 1-minute load average was {load[0]} before and {load[1]} after (above "
        f"{result['machine'].get('cores (nproc)', 'the core count')}: other jobs were running). "
        f"The series alone (`--metric` every forecast metric, no churn score): "
        f"**{series['wall_seconds']} s**, load average {series['load_average'][0]} before and "
        f"{series['load_average'][1]} after.",
        "",
        f"Rolling-origin backtest, {result['origins']} cut-offs per series (the last one a "
        "full horizon before the last day, the earlier ones 28 days apart for daily series, "
        "one horizon apart for monthly ones). MASE: mean absolute error over the horizon "
        "divided by the training data's in-sample seasonal-naive MAE (lower is better, < 1 "
        "beats the baseline's in-sample error); MAPE over non-zero actuals; coverage: share "
        "of actuals inside the interval, pooled over slices, cut-offs and horizon days. "
        "`ets` and `seasonal_naive` are the models' own forecasts and intervals; `chosen` is "
        "what `opsmetrics forecast` writes: ETS's parameters fitted on the first half of the "
        "data before the cut-off, the per-series choice by mean MASE over the rolling "
        "origins of the last 12 weeks (monthly: 18 months), its intervals calibrated per "
        "horizon step on the rolling-origin errors of the second half (out of sample for the "
        "parameters), the forecast from ETS refitted on all of it (docs/decisions.md, Issue "
        "18 session 6). `all series` pools every point. A smooth single series (MRR total, "
        "active customers) gives about one independent miss-or-cover outcome per cut-off, "
        "so its coverage moves in steps of several points.",
        "",
        "| series | model | slices | MASE | MAPE % | 80 % coverage | 95 % coverage | points |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in result["summary"]:
        lines.append(
            f"| {row['series']} | {row['model']} | {row['slices']} | {_fmt(row['mase'])} | "
            f"{_fmt(row['mape'], 1)} | {_fmt(row['coverage_80'], 1)} | "
            f"{_fmt(row['coverage_95'], 1)} | {row['points']} |"
        )
    lines += [
        "",
        "Per slice, mean MASE over the cut-offs, and the chosen forecast's MAPE and coverage:",
        "",
        "| metric | slice | MASE ets | MASE seasonal_naive | MASE chosen | MAPE % chosen | "
        "80 % coverage chosen | 95 % coverage chosen |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in result["per_slice"]:
        lines.append(
            f"| {row['metric']} | {row['slice_value']} | {_fmt(row.get(models.ETS))} | "
            f"{_fmt(row.get(models.SEASONAL_NAIVE))} | {_fmt(row.get(CHOSEN))} | "
            f"{_fmt(row.get('chosen_mape'), 1)} | {_fmt(row.get('chosen_coverage_80'), 1)} | "
            f"{_fmt(row.get('chosen_coverage_95'), 1)} |"
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
