"""Plotly figures for the pages and the reports: trends with target and forecast band,
gauges with threshold bands. Labels taken from the data are escaped (plotly reads a
subset of HTML in text); values are numbers."""

from __future__ import annotations

import html

import pandas as pd
import plotly.graph_objects as go

from opsmetrics.semantic import Kpi

BAND_COLOURS = {"ok": "#c8e6c9", "warning": "#ffe0b2", "critical": "#ffcdd2"}
LINE_COLOUR = "#1f4e79"


def safe_label(value: object) -> str:
    """Text from the data, as plotly must receive it to show it literally."""
    return html.escape(str(value))


def trend(
    frame: pd.DataFrame,
    time_column: str,
    kpi: Kpi,
    forecast: pd.DataFrame | None = None,
) -> go.Figure:
    """The metric over time, its target as a dashed line and, when there is a forecast,
    the forecast with its 80 % and 95 % bands."""
    figure = go.Figure()
    figure.add_trace(
        go.Scatter(
            x=frame[time_column],
            y=frame[kpi.name].astype(float),
            mode="lines+markers",
            name="actual",
            line={"color": LINE_COLOUR},
        )
    )
    if forecast is not None and not forecast.empty:
        for low, high, colour, name in (
            ("lower_95", "upper_95", "rgba(31,78,121,0.10)", "95 % band"),
            ("lower_80", "upper_80", "rgba(31,78,121,0.22)", "80 % band"),
        ):
            figure.add_trace(
                go.Scatter(
                    x=list(forecast["forecast_date"]) + list(forecast["forecast_date"])[::-1],
                    y=list(forecast[high].astype(float)) + list(forecast[low].astype(float))[::-1],
                    fill="toself",
                    fillcolor=colour,
                    line={"width": 0},
                    name=name,
                    hoverinfo="skip",
                )
            )
        figure.add_trace(
            go.Scatter(
                x=forecast["forecast_date"],
                y=forecast["point"].astype(float),
                mode="lines",
                name="forecast",
                line={"color": LINE_COLOUR, "dash": "dot"},
            )
        )
    figure.add_hline(
        y=float(kpi.meta["target"]),
        line_dash="dash",
        line_color="#2e7d32",
        annotation_text=f"target {kpi.meta['target']}",
    )
    figure.update_layout(
        title=kpi.label,
        yaxis_title=str(kpi.meta["unit"]),
        height=300,
        margin={"l": 40, "r": 20, "t": 50, "b": 30},
        showlegend=forecast is not None and not forecast.empty,
    )
    return figure


def gauge_range(value: float, kpi: Kpi) -> tuple[float, float]:
    """The dial's span: the thresholds, the target and the value with some margin."""
    points = [
        value,
        float(kpi.meta["target"]),
        float(kpi.meta["warning_threshold"]),
        float(kpi.meta["critical_threshold"]),
    ]
    low, high = min(points), max(points)
    margin = (high - low) * 0.25 or 1.0
    if kpi.meta["unit"] == "percent":
        return max(low - margin, 0.0 if low >= 0 else low - margin), min(high + margin, 100.0)
    return low - margin, high + margin


def gauge(value: float, kpi: Kpi, title: str | None = None) -> go.Figure:
    """A dial with the critical, warning and ok bands of the KPI and its target."""
    low, high = gauge_range(value, kpi)
    warning = float(kpi.meta["warning_threshold"])
    critical = float(kpi.meta["critical_threshold"])
    if kpi.meta["direction"] == "higher_is_better":
        bands = [(low, critical, "critical"), (critical, warning, "warning"), (warning, high, "ok")]
    else:
        bands = [(low, warning, "ok"), (warning, critical, "warning"), (critical, high, "critical")]
    figure = go.Figure(
        go.Indicator(
            mode="gauge+number",
            value=value,
            title={"text": safe_label(title or kpi.label)},
            number={"suffix": " %" if kpi.meta["unit"] == "percent" else ""},
            gauge={
                "axis": {"range": [low, high]},
                "bar": {"color": LINE_COLOUR},
                "steps": [
                    {"range": [start, end], "color": BAND_COLOURS[band]}
                    for start, end, band in bands
                ],
                "threshold": {
                    "line": {"color": "#2e7d32", "width": 3},
                    "value": float(kpi.meta["target"]),
                },
            },
        )
    )
    figure.update_layout(height=230, margin={"l": 20, "r": 20, "t": 50, "b": 10})
    return figure


def bars(frame: pd.DataFrame, category: str, metric: str, title: str) -> go.Figure:
    """One bar per category value (breakdowns), with escaped category labels."""
    figure = go.Figure(
        go.Bar(
            x=[safe_label(value) for value in frame[category]],
            y=frame[metric].astype(float),
            marker_color=LINE_COLOUR,
        )
    )
    figure.update_layout(
        title=safe_label(title), height=300, margin={"l": 40, "r": 20, "t": 50, "b": 60}
    )
    return figure
