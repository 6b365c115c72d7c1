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


def gauges(dials: list[tuple[float, Kpi, str | None]]) -> go.Figure:
    """Dials side by side in one figure, one per (value, KPI, title): each with the
    critical, warning and ok bands of its KPI and its target. One figure, not one per
    dial: the browser's cost is mostly per figure (issue 20, docs/benchmarks.md)."""
    width = 1 / max(len(dials), 1)
    indicators = []
    for position, (value, kpi, title) in enumerate(dials):
        low, high = gauge_range(value, kpi)
        warning = float(kpi.meta["warning_threshold"])
        critical = float(kpi.meta["critical_threshold"])
        if kpi.meta["direction"] == "higher_is_better":
            bands = [(low, critical, "critical"), (critical, warning, "warning")]
            bands.append((warning, high, "ok"))
        else:
            bands = [(low, warning, "ok"), (warning, critical, "warning")]
            bands.append((critical, high, "critical"))
        domain = [position * width + 0.02, (position + 1) * width - 0.02]
        indicators.append(
            go.Indicator(
                mode="gauge+number",
                value=value,
                domain={"x": domain, "y": [0, 1]},
                title={"text": safe_label(title or kpi.label), "font": {"size": 13}},
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
    layout = {"height": 230, "margin": {"l": 20, "r": 20, "t": 50, "b": 10}}
    return go.Figure(data=indicators, layout=layout)


def bars(frame: pd.DataFrame, category: str, metric: str, title: str) -> go.Figure:
    """One bar per category value (breakdowns), with escaped category labels."""
    bar = go.Bar(
        x=[safe_label(value) for value in frame[category]],
        y=frame[metric].astype(float),
        marker_color=LINE_COLOUR,
    )
    layout = {
        "title": {"text": safe_label(title)},
        "height": 300,
        "margin": {"l": 40, "r": 20, "t": 50, "b": 60},
        "xaxis": {"automargin": False},
        "yaxis": {"automargin": False},
    }
    return go.Figure(data=[bar], layout=layout)
