"""Plotly trends for the reports (target line, forecast band; plotly's JavaScript is
inlined so a report opens offline), and the gauge bands and colours the pages' Vega-Lite
charts (`vega.py`) share."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from opsmetrics.semantic import Kpi

BAND_COLOURS = {"ok": "#c8e6c9", "warning": "#ffe0b2", "critical": "#ffcdd2"}
LINE_COLOUR = "#1f4e79"


def trend(
    frame: pd.DataFrame,
    time_column: str,
    kpi: Kpi,
    forecast: pd.DataFrame | None = None,
) -> go.Figure:
    """The metric over time, its target as a dashed line and, when there is a forecast,
    the forecast with its 80 % and 95 % bands. Built in one constructor call: plotly's
    incremental updates (add_trace, add_hline, update_layout) cost ten times more."""
    traces = [
        go.Scatter(
            x=frame[time_column],
            y=frame[kpi.name].astype(float),
            mode="lines+markers",
            name="actual",
            line={"color": LINE_COLOUR},
        )
    ]
    has_forecast = forecast is not None and not forecast.empty
    if has_forecast:
        dates = list(forecast["forecast_date"])
        for low, high, colour, name in (
            ("lower_95", "upper_95", "rgba(31,78,121,0.10)", "95 % band"),
            ("lower_80", "upper_80", "rgba(31,78,121,0.22)", "80 % band"),
        ):
            traces.append(
                go.Scatter(
                    x=dates + dates[::-1],
                    y=list(forecast[high].astype(float)) + list(forecast[low].astype(float))[::-1],
                    fill="toself",
                    fillcolor=colour,
                    line={"width": 0},
                    name=name,
                    hoverinfo="skip",
                )
            )
        traces.append(
            go.Scatter(
                x=forecast["forecast_date"],
                y=forecast["point"].astype(float),
                mode="lines",
                name="forecast",
                line={"color": LINE_COLOUR, "dash": "dot"},
            )
        )
    target = float(kpi.meta["target"])
    line = {"type": "line", "xref": "x domain", "x0": 0, "x1": 1, "yref": "y", "y0": target}
    line |= {"y1": target, "line": {"color": "#2e7d32", "dash": "dash"}}
    label = {"xref": "x domain", "x": 1, "xanchor": "right", "yref": "y", "y": target}
    label |= {"yanchor": "bottom", "showarrow": False, "text": f"target {kpi.meta['target']}"}
    return go.Figure(
        data=traces,
        layout={
            "title": {"text": kpi.label},
            "xaxis": {"automargin": False},
            "yaxis": {"title": {"text": str(kpi.meta["unit"])}, "automargin": False},
            "height": 300,
            "margin": {"l": 40, "r": 20, "t": 50, "b": 45},
            "showlegend": has_forecast,
            "shapes": [line],
            "annotations": [label],
        },
    )


def gauge_bands(value: float, kpi: Kpi) -> tuple[float, float, list[tuple[float, float, str]]]:
    """A dial's span (the thresholds, the target and the value with some margin) and its
    (start, end, band) critical, warning and ok bands, in the KPI's direction."""
    points = [
        value,
        float(kpi.meta["target"]),
        float(kpi.meta["warning_threshold"]),
        float(kpi.meta["critical_threshold"]),
    ]
    low, high = min(points), max(points)
    margin = (high - low) * 0.25 or 1.0
    if kpi.meta["unit"] == "percent":
        low, high = max(low - margin, 0.0 if low >= 0 else low - margin), min(high + margin, 100.0)
    else:
        low, high = low - margin, high + margin
    warning = float(kpi.meta["warning_threshold"])
    critical = float(kpi.meta["critical_threshold"])
    if kpi.meta["direction"] == "higher_is_better":
        bands = [(low, critical, "critical"), (critical, warning, "warning"), (warning, high, "ok")]
    else:
        bands = [(low, warning, "ok"), (warning, critical, "warning"), (critical, high, "critical")]
    return low, high, bands
