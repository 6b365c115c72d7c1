"""`opsmetrics forecast`: read every configured series, fit, choose, write the forecasts and
the predicted threshold crossings.

A run is identified by its `trained_until` date (the as-of date): running again for the
same date replaces that date's rows of the metrics forecast, and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import numpy as np
import pandas as pd

from opsmetrics.forecast import churn, models
from opsmetrics.forecast.series import (
    CAPACITY_METRICS,
    MONTH,
    QUEUE_DEPTH_THRESHOLDS,
    SERIES,
    SeriesSpec,
    future_dates,
    month_end_steps,
    observed_count,
    prepare,
)
from opsmetrics.forecast.warehouse import Warehouse, WarehouseError, connect

CHURN_RISK = "churn_risk"
"""Selects the churn-risk score in --metric, beside the forecast metrics."""
NOT_ENOUGH_HISTORY = "not_enough_history"
OK = "ok"
MAX_HORIZON = 366
LATEST_DAY_SQL = "select max(mrr_date) as latest from marts.fct_mrr_daily"


class ForecastError(ValueError):
    """Bad input or configuration: one clear line, exit code 2."""


@dataclass(frozen=True)
class SeriesForecast:
    """One slice's result: its forecast rows (or one not_enough_history row)."""

    spec: SeriesSpec
    slice_value: str
    status: str
    message: str
    model: str | None = None
    dates: list[date] = field(default_factory=list)
    steps: list[int] = field(default_factory=list)
    prediction: models.Prediction | None = None
    choice: models.Choice | None = None
    last_value: float | None = None


@dataclass
class ForecastRun:
    """What a run wrote."""

    trained_until: date
    run_at: datetime
    series: list[SeriesForecast]
    forecasts: pd.DataFrame
    crossings: pd.DataFrame
    churn: pd.DataFrame | None = None
    churn_message: str = ""


def parse_as_of(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ForecastError(f"--as-of {value!r} is not a date (YYYY-MM-DD)") from None


def select_specs(metrics: list[str] | None) -> list[SeriesSpec]:
    """The configured series of `metrics` (all when None); unknown names are an error."""
    known = [*dict.fromkeys(spec.metric for spec in SERIES), CHURN_RISK]
    unknown = sorted(set(metrics or []) - set(known))
    if unknown:
        raise ForecastError(
            f"unknown metric {', '.join(unknown)}: forecastable metrics are {', '.join(known)}"
        )
    return [spec for spec in SERIES if not metrics or spec.metric in metrics]


def effective_horizon(spec: SeriesSpec, horizon: int | None) -> int:
    """The series' own horizon, or `horizon` days (monthly series: in months, at least 1)."""
    if horizon is None:
        return spec.horizon
    if spec.grain == MONTH:
        return max(1, round(horizon / 30))
    return horizon


def forecast_slice(
    spec: SeriesSpec, slice_value: str, rows: pd.DataFrame, as_of: date, horizon: int
) -> SeriesForecast:
    """Fit every model to one slice, choose by rolling-origin accuracy per horizon step and
    calibrate the chosen model's intervals on its rolling-origin errors (`models.forecast`)."""
    series = prepare(rows, spec, as_of)
    observed = observed_count(rows, as_of)
    unit = "days" if spec.grain != MONTH else "months"
    if observed < spec.min_history or len(series) < spec.min_history:
        return SeriesForecast(
            spec,
            slice_value,
            NOT_ENOUGH_HISTORY,
            f"{min(observed, len(series))} {unit} of history, {spec.min_history} needed",
        )
    y = series.to_numpy(dtype=float)
    steps = list(range(1, horizon + 1))
    if spec.month_ends:
        steps = month_end_steps(series.index[-1].date(), horizon)
        horizon = steps[-1]
    result = models.forecast(y, horizon, spec.period, spec.window)
    choice = result.choice
    prediction = result.prediction.clipped(spec.floor, spec.ceiling)
    dates = future_dates(spec, series.index[-1], horizon)
    return SeriesForecast(
        spec,
        slice_value,
        OK,
        f"{observed} {unit} of history",
        model=choice.model,
        dates=[dates[step - 1] for step in steps],
        steps=steps,
        prediction=_select(prediction, [step - 1 for step in steps]),
        choice=choice,
        last_value=float(y[-1]),
    )


def _select(prediction: models.Prediction, positions: list[int]) -> models.Prediction:
    return models.Prediction(
        prediction.model,
        *(
            getattr(prediction, name)[positions]
            for name in ("point", "lower_80", "upper_80", "lower_95", "upper_95")
        ),
    )


def _forecast_rows(result: SeriesForecast, as_of: date, run_at: datetime) -> list[dict]:
    spec = result.spec
    base = {
        "metric": spec.metric,
        "slice_name": spec.slice_name,
        "slice_value": result.slice_value,
        "run_at": run_at,
        "trained_until": as_of,
        "status": result.status,
        "grain": spec.grain,
        "message": result.message,
    }
    if result.prediction is None or result.choice is None:
        return [base]
    prediction = result.prediction
    return [
        {
            **base,
            "forecast_date": forecast_date,
            "horizon_day": (forecast_date - as_of).days,
            "point": prediction.point[i],
            "lower_80": prediction.lower_80[i],
            "upper_80": prediction.upper_80[i],
            "lower_95": prediction.lower_95[i],
            "upper_95": prediction.upper_95[i],
            "model": result.model,
            "backtest_mase": result.choice.mase[result.choice.model],
            "baseline_backtest_mase": result.choice.mase[models.SEASONAL_NAIVE],
        }
        for i, forecast_date in enumerate(result.dates)
    ]


@dataclass(frozen=True)
class Threshold:
    kind: str
    value: float
    direction: str
    source: str


def thresholds_for(spec: SeriesSpec, registry: dict[str, dict]) -> list[Threshold]:
    """Warning and critical thresholds of the series' metric, from its KPI meta
    (`registry`) or, for queue depth, from QUEUE_DEPTH_THRESHOLDS."""
    if spec.thresholds == "own":
        return [
            Threshold(kind, value, "lower_is_better", "opsmetrics.forecast.series")
            for kind, value in QUEUE_DEPTH_THRESHOLDS.items()
        ]
    if spec.thresholds != "registry":
        return []
    meta = registry.get(spec.metric)
    if meta is None:
        return []
    return [
        Threshold(kind, float(meta[f"{kind}_threshold"]), meta["direction"], "kpi_registry")
        for kind in ("warning", "critical")
    ]


def first_crossing(values: np.ndarray, dates: list[date], threshold: Threshold) -> date | None:
    """The first forecast date whose value is at or past the threshold (upwards for
    lower_is_better metrics, downwards for higher_is_better ones); None within the horizon."""
    if threshold.direction == "lower_is_better":
        past = values >= threshold.value
    else:
        past = values <= threshold.value
    hits = np.flatnonzero(past)
    return dates[hits[0]] if len(hits) else None


def crossing_rows(
    result: SeriesForecast, thresholds: list[Threshold], as_of: date, run_at: datetime
) -> list[dict]:
    """One row per threshold: when the point forecast crosses it, and the earliest and
    latest crossing the 95 % band allows (the pessimistic bound crosses first)."""
    prediction = result.prediction
    if prediction is None or not result.dates:
        return []
    rows = []
    for threshold in thresholds:
        worse_first, worse_last = (
            (prediction.upper_95, prediction.lower_95)
            if threshold.direction == "lower_is_better"
            else (prediction.lower_95, prediction.upper_95)
        )
        rows.append(
            {
                "metric": result.spec.metric,
                "slice_name": result.spec.slice_name,
                "slice_value": result.slice_value,
                "threshold_kind": threshold.kind,
                "threshold_value": threshold.value,
                "direction": threshold.direction,
                "trained_until": as_of,
                "crossing_date": first_crossing(prediction.point, result.dates, threshold),
                "crossing_date_earliest": first_crossing(worse_first, result.dates, threshold),
                "crossing_date_latest": first_crossing(worse_last, result.dates, threshold),
                "model": result.model,
                "run_at": run_at,
                "horizon_end_date": result.dates[-1],
                "threshold_source": threshold.source,
                "last_actual": result.last_value,
            }
        )
    return rows


def latest_day(warehouse: Warehouse) -> date:
    """The warehouse's last day of data (the revenue calendar's last day)."""
    try:
        frame = warehouse.query(LATEST_DAY_SQL)
    except WarehouseError as error:
        raise ForecastError(
            f"cannot read marts.fct_mrr_daily ({error}): load data and run dbt build first"
        ) from error
    latest = frame["latest"].iloc[0] if len(frame) else None
    if latest is None or pd.isna(latest):
        raise ForecastError("the warehouse holds no data (marts.fct_mrr_daily is empty)")
    return pd.Timestamp(latest).date()


def read_slices(warehouse: Warehouse, spec: SeriesSpec) -> dict[str, pd.DataFrame]:
    frame = warehouse.query(spec.sql)
    return {str(value): rows for value, rows in frame.groupby("slice_value", sort=True)}


def kpi_meta() -> dict[str, dict]:
    """Every KPI's registry meta, by metric name (opsmetrics.semantic.kpi_registry)."""
    from opsmetrics.semantic import kpi_registry, load_manifest

    try:
        manifest = load_manifest()
    except FileNotFoundError as error:
        raise ForecastError("no target/manifest.json: run dbt parse (or build) first") from error
    return {kpi.name: kpi.meta for kpi in kpi_registry(manifest)}


def run_forecast(
    as_of: date | None = None,
    horizon: int | None = None,
    target: str = "duckdb",
    metrics: list[str] | None = None,
) -> ForecastRun:
    """Forecast every configured series (or those of `metrics`) as of `as_of` (default:
    the warehouse's last day) and replace that date's rows in the forecasts schema."""
    if horizon is not None and not 1 <= horizon <= MAX_HORIZON:
        raise ForecastError(f"--horizon {horizon} must be between 1 and {MAX_HORIZON} days")
    specs = select_specs(metrics)
    registry = kpi_meta()
    run_at = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    try:
        with connect(target) as warehouse:
            latest = latest_day(warehouse)
            trained_until = as_of or latest
            if trained_until > latest:
                raise ForecastError(
                    f"--as-of {trained_until} is after the warehouse's last day {latest}"
                )
            slices = [(spec, read_slices(warehouse, spec)) for spec in specs]
            with models.one_blas_thread():
                results = [
                    forecast_slice(
                        spec, value, rows, trained_until, effective_horizon(spec, horizon)
                    )
                    for spec, by_value in slices
                    for value, rows in by_value.items()
                ]
            forecasts = pd.DataFrame(
                [row for result in results for row in _forecast_rows(result, trained_until, run_at)]
            )
            crossings = pd.DataFrame(
                [
                    row
                    for result in results
                    for row in crossing_rows(
                        result, thresholds_for(result.spec, registry), trained_until, run_at
                    )
                ]
            )
            names = sorted({spec.metric for spec in specs})
            if names:
                marks = ", ".join("%s" for _ in names)
                where = f"trained_until = %s and metric in ({marks})"
                params = [trained_until, *names]
                warehouse.replace_rows("metric_forecasts", where, params, forecasts)
                warehouse.replace_rows("threshold_crossings", where, params, crossings)
            run = ForecastRun(trained_until, run_at, results, forecasts, crossings)
            if not metrics or CHURN_RISK in metrics:
                run.churn, run.churn_message = score_churn(warehouse, trained_until, run_at)
    except WarehouseError as error:
        raise ForecastError(str(error)) from error
    return run


def score_churn(
    warehouse: Warehouse, as_of: date, run_at: datetime
) -> tuple[pd.DataFrame | None, str]:
    """Score the last month complete by `as_of` and replace that month's churn rows; too
    little labelled history gives a message and writes nothing."""
    features = churn.read_features(warehouse)
    try:
        month = churn.scored_month_for(features, as_of)
        _, scored = churn.score_month(features, month)
    except churn.ChurnError as error:
        return None, str(error)
    rows = churn.churn_rows(scored, run_at)
    warehouse.replace_rows("customer_churn_risk", "scored_month = %s", [month], rows)
    return rows, f"{len(rows)} active customers scored for {month:%Y-%m}"


def headlines(run: ForecastRun) -> list[str]:
    """The lines a person reads first: next month-end MRR with its 95 % interval, the
    first predicted capacity threshold crossing, what could not be forecast, churn."""
    lines = [f"forecasts trained until {run.trained_until} (run {run.run_at:%Y-%m-%d %H:%M} UTC)"]
    ok = [result for result in run.series if result.status == OK]
    short = [result for result in run.series if result.status == NOT_ENOUGH_HISTORY]
    lines.append(f"{len(ok)} series forecast, {len(short)} with not enough history")
    for result in ok:
        if result.spec.metric == "mrr" and result.spec.slice_name == "total":
            p = result.prediction
            lines.append(
                f"MRR at {result.dates[0]}: {p.point[0]:,.0f} USD "
                f"(95 %: {p.lower_95[0]:,.0f} to {p.upper_95[0]:,.0f}; model {result.model})"
            )
    for result in short:
        lines.append(
            f"not enough history: {result.spec.metric} {result.slice_value} ({result.message})"
        )
    lines.append(_first_capacity_crossing(run.crossings))
    if run.churn is not None or run.churn_message:
        lines.append(f"churn risk: {run.churn_message}")
    return lines


def _first_capacity_crossing(crossings: pd.DataFrame) -> str:
    """The first capacity threshold the point forecast crosses; when none does within the
    horizon, the earliest crossing the 95 % band allows (the pessimistic bound)."""
    if not len(crossings):
        return "no capacity threshold crossing predicted within the 90-day horizon"
    capacity = crossings[crossings["metric"].isin(CAPACITY_METRICS)]
    crossed = capacity[capacity["crossing_date"].notna()].sort_values("crossing_date")
    if len(crossed):
        first = crossed.iloc[0]
        return (
            f"first capacity threshold crossing: {first['metric']} {first['slice_value']} "
            f"reaches its {first['threshold_kind']} threshold {first['threshold_value']:g} around "
            f"{first['crossing_date']} (95 %: {_when(first['crossing_date_earliest'])} to "
            f"{_when(first['crossing_date_latest'])})"
        )
    possible = capacity[capacity["crossing_date_earliest"].notna()]
    if not len(possible):
        return "no capacity threshold crossing predicted within the 90-day horizon"
    first = possible.sort_values("crossing_date_earliest").iloc[0]
    return (
        "no capacity threshold crossing expected within the 90-day horizon; first possible "
        f"(95 % band): {first['metric']} {first['slice_value']} could reach its "
        f"{first['threshold_kind']} threshold {first['threshold_value']:g} from "
        f"{first['crossing_date_earliest']}"
    )


def _when(value: object) -> str:
    return "beyond the horizon" if value is None or pd.isna(value) else str(value)
