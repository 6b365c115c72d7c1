"""What a page or report reads, as DataFrames: metric tables, forecasts, firing alerts,
the largest customers. A missing table is None, never an exception."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd

from opsmetrics.alerts.rules import SEVERITIES
from opsmetrics.dashboards.data import Source

FORECASTS = "forecasts.metric_forecasts"
ALERTS = "alerts.alert_events"


def metric_table(source: Source, table: str, available: set[str]) -> pd.DataFrame | None:
    """`metrics.<table>` ordered by time, metric columns as floats; None when missing."""
    if f"metrics.{table}" not in available:
        return None
    frame = source.query(f"select * from metrics.{table}")
    for column in frame.columns:
        if column.startswith("metric_time__"):
            frame[column] = pd.to_datetime(frame[column])
        elif frame[column].map(lambda value: isinstance(value, Decimal)).any():
            frame[column] = frame[column].astype(float)  # Postgres numeric
    time_columns = [column for column in frame.columns if column.startswith("metric_time__")]
    return frame.sort_values(time_columns).reset_index(drop=True)


def forecasts(source: Source, metrics: tuple[str, ...], available: set[str]) -> pd.DataFrame:
    """The latest successful forecast of each metric's total; empty when none exist."""
    if FORECASTS not in available or not metrics:
        return pd.DataFrame()
    placeholders = ", ".join("?" for _ in metrics)
    frame = source.query(
        f"""
        select metric, grain, forecast_date, point, lower_80, upper_80, lower_95, upper_95
        from {FORECASTS} as forecast
        where slice_name = 'total' and status = 'ok' and metric in ({placeholders})
            and run_at = (
                select max(run_at) from {FORECASTS} as latest
                where latest.metric = forecast.metric and latest.slice_name = 'total'
                    and latest.status = 'ok'
            )
        order by metric, forecast_date
        """,
        list(metrics),
    )
    frame["forecast_date"] = pd.to_datetime(frame["forecast_date"])
    return frame


def forecast_at_grain(forecasts: pd.DataFrame, metric: str, grain: str) -> pd.DataFrame | None:
    """`metric`'s forecast rows a chart of `grain` can draw: a forecast of that grain; on a
    monthly chart also a daily forecast written for month ends only (a balance such as
    MRR, whose month value is its month's last day), drawn at its month. None otherwise."""
    rows = forecasts[forecasts["metric"] == metric] if len(forecasts) else forecasts
    if rows.empty:
        return None
    if (rows["grain"] == grain).all():
        return rows
    dates = rows["forecast_date"]
    if grain == "month" and dates.dt.is_month_end.all():
        return rows.assign(forecast_date=dates.dt.to_period("M").dt.to_timestamp())
    return None


def missing_forecast_note(labels: list[str], grain: str, available: set[str]) -> str | None:
    """Why trend charts have no forecast band: the table is not published, or it holds no
    successful forecast of these metrics (`labels`) at the chart's grain; None when every
    chart has one."""
    if FORECASTS not in available:
        return f"No forecast band: {FORECASTS} is not in the published data."
    if not labels:
        return None
    return (
        f"No forecast band for {', '.join(labels)}: {FORECASTS} holds no successful forecast "
        f"of their total at {grain} grain."
    )


def firing_alerts(
    source: Source, metrics: tuple[str, ...], available: set[str]
) -> pd.DataFrame | None:
    """Alerts firing now on `metrics`, most severe first; None when alerts are not
    evaluated (no alerts.alert_events)."""
    if ALERTS not in available:
        return None
    placeholders = ", ".join("?" for _ in metrics)
    rank = " ".join(f"when '{name}' then {i}" for i, name in enumerate(SEVERITIES))
    return source.query(
        f"""
        select severity, metric, slice_name, slice_value, observed_value, message,
            first_seen_at, last_seen_at
        from {ALERTS}
        where state = 'firing' and metric in ({placeholders})
        order by case severity {rank} else {len(SEVERITIES)} end, last_seen_at desc
        """,
        list(metrics),
    )


def largest_customers(
    source: Source,
    month: pd.Timestamp,
    available: set[str],
    segment: str | None = None,
    plan: str | None = None,
    limit: int = 10,
) -> pd.DataFrame | None:
    """The customers with the highest MRR at the end of `month` (the MRR card's detail)."""
    needed = {"marts.fct_customer_mrr_monthly", "marts.dim_customers"}
    if not needed <= available:
        return None
    conditions, parameters = ["mrr.month_start_date = ?", "mrr.mrr_amount > 0"], [month.date()]
    if segment:
        conditions.append("customers.segment = ?")
        parameters.append(segment)
    if plan:
        conditions.append("mrr.plan_id = ?")
        parameters.append(plan)
    return source.query(
        f"""
        select customers.company_name, customers.segment, mrr.plan_id as plan,
            mrr.mrr_amount as mrr_usd
        from marts.fct_customer_mrr_monthly as mrr
        inner join marts.dim_customers as customers on mrr.customer_id = customers.customer_id
        where {" and ".join(conditions)}
        order by mrr.mrr_amount desc, customers.company_name
        limit {int(limit)}
        """,
        parameters,
    )
