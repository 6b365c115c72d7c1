"""What a page or report reads, as DataFrames: metric tables, forecasts, firing alerts,
the largest customers. A missing table is None, never an exception."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pandas as pd

from opsmetrics.alerts.rules import SEVERITIES
from opsmetrics.dashboards.data import Source

FORECASTS = "forecasts.metric_forecasts"
ALERTS = "alerts.alert_events"
PUBLISH_METADATA = "published.snapshot_metadata"


def data_as_of(source: Source, available: set[str]) -> datetime | None:
    """The data's as-of stamp (UTC): the `data_as_of` the publish step wrote (the newest
    raw delivery the build read). A source without publish metadata (Postgres, a warehouse
    file) is measured the same way, live: the newest `_loaded_at` in staging. None when
    neither exists (an empty warehouse)."""
    if PUBLISH_METADATA in available:
        value = source.query(f"select max(data_as_of) as as_of from {PUBLISH_METADATA}")
        if pd.notna(value["as_of"].iloc[0]):
            return _utc(value["as_of"].iloc[0])
    # Base tables only: a view's loads are its base table's, read again through its logic.
    tables = source.query(
        "select distinct columns.table_name from information_schema.columns as columns "
        "inner join information_schema.tables as tables "
        "on columns.table_schema = tables.table_schema "
        "and columns.table_name = tables.table_name "
        "where columns.table_schema = 'staging' and columns.column_name = '_loaded_at' "
        "and tables.table_type = 'BASE TABLE' order by columns.table_name"
    )
    if tables.empty:
        return None
    union = " union all ".join(
        'select max(_loaded_at) as loaded_at from staging."{}"'.format(name.replace('"', '""'))
        for name in tables["table_name"]
    )
    value = source.query(f"select max(loaded_at) as as_of from ({union}) as loads")["as_of"]
    return None if pd.isna(value.iloc[0]) else _utc(value.iloc[0])


def _utc(value: object) -> datetime:
    stamp = pd.Timestamp(value)
    stamp = stamp.tz_localize(UTC) if stamp.tzinfo is None else stamp.tz_convert(UTC)
    return stamp.to_pydatetime()


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
