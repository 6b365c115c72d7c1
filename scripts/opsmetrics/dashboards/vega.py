"""Vega-Lite charts for the pages (Streamlit's native `st.vega_lite_chart`): trends with
target and forecast band, bars, gauges with threshold bands. Each function returns
(data, spec). Vega draws text from the data as text (no HTML is read), so labels are
passed as they are. The reports keep plotly (`charts.py`): its JavaScript can be inlined
into a file that opens offline."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from opsmetrics.dashboards.charts import BAND_COLOURS, LINE_COLOUR, gauge_bands
from opsmetrics.semantic import Kpi

TARGET_COLOUR = "#2e7d32"
ACTUAL, FORECAST = "actual", "forecast"
Chart = tuple[pd.DataFrame, dict[str, Any]]
ONE_ROW = {"values": [{}]}
"""A layer's own data for a mark drawn once (target rule, label, number), not per row."""


def trend(
    frame: pd.DataFrame, time_column: str, kpi: Kpi, forecast: pd.DataFrame | None = None
) -> Chart:
    """The metric over time (`actual`), its target as a dashed rule and, when there is a
    forecast, the forecast (`forecast`) with its 80 % and 95 % bands: one long table, one
    layer per part."""
    rows = pd.DataFrame(
        {"date": frame[time_column], "value": frame[kpi.name].astype(float), "series": ACTUAL}
    )
    layers: list[dict[str, Any]] = []
    if forecast is not None and not forecast.empty:
        future = forecast.rename(columns={"forecast_date": "date", "point": "value"})
        future = future[["date", "value", "lower_80", "upper_80", "lower_95", "upper_95"]]
        rows = pd.concat([rows, future.assign(series=FORECAST)], ignore_index=True)
        only_forecast = {"filter": {"field": "series", "equal": FORECAST}}
        for level, opacity in (("95", 0.12), ("80", 0.25)):
            layers.append(
                {
                    "transform": [only_forecast],
                    "mark": {"type": "area", "color": LINE_COLOUR, "opacity": opacity},
                    "encoding": {
                        "x": {"field": "date", "type": "temporal"},
                        "y": {"field": f"lower_{level}", "type": "quantitative"},
                        "y2": {"field": f"upper_{level}"},
                    },
                }
            )
    layers.append(
        {
            "mark": {"type": "line", "point": True, "tooltip": True},
            "encoding": {
                "x": {"field": "date", "type": "temporal", "title": None},
                "y": {
                    "field": "value",
                    "type": "quantitative",
                    "title": str(kpi.meta["unit"]),
                    "scale": {"zero": False},
                },
                "color": {
                    "field": "series",
                    "type": "nominal",
                    "scale": {"domain": [ACTUAL, FORECAST], "range": [LINE_COLOUR, "#7f9bb5"]},
                    "legend": {"orient": "bottom", "title": None} if len(layers) else None,
                },
                "strokeDash": {
                    "field": "series",
                    "type": "nominal",
                    "scale": {"domain": [ACTUAL, FORECAST], "range": [[1, 0], [4, 3]]},
                    "legend": None,
                },
            },
        }
    )
    target = float(kpi.meta["target"])
    layers.append(
        {
            "mark": {"type": "rule", "color": TARGET_COLOUR, "strokeDash": [6, 4]},
            "data": ONE_ROW,
            "encoding": {"y": {"datum": target}},
        }
    )
    layers.append(
        {
            "mark": {
                "type": "text",
                "color": TARGET_COLOUR,
                "align": "right",
                "baseline": "bottom",
                "x": "width",
                "dy": -2,
            },
            "data": ONE_ROW,
            "encoding": {"y": {"datum": target}, "text": {"value": f"target {kpi.meta['target']}"}},
        }
    )
    spec = {"title": kpi.label, "height": 240, "layer": layers}
    return rows, spec


def bars(frame: pd.DataFrame, category: str, metric: str, title: str) -> Chart:
    """One bar per category value (breakdowns), in the frame's order."""
    rows = pd.DataFrame({"category": frame[category].astype(str), "value": frame[metric]})
    rows["value"] = rows["value"].astype(float)
    spec = {
        "title": title,
        "height": 260,
        "mark": {"type": "bar", "color": LINE_COLOUR, "tooltip": True},
        "encoding": {
            "x": {"field": "category", "type": "nominal", "sort": None, "title": None},
            "y": {"field": "value", "type": "quantitative", "title": metric},
        },
    }
    return rows, spec


def gauges(dials: list[tuple[float, Kpi, str | None]]) -> Chart:
    """Dials side by side in one chart, one per (value, KPI, title):
    a half ring of the KPI's critical, warning and ok bands, the value as an inner arc and
    a number, the target as a tick."""
    rows, views = [], []
    for position, (value, kpi, title) in enumerate(dials):
        low, high, bands = gauge_bands(value, kpi)
        dial = f"dial {position}"
        target = float(kpi.meta["target"])
        tick = (high - low) / 200
        rows += [
            {"dial": dial, "part": band, "start": start, "end": end} for start, end, band in bands
        ]
        rows.append({"dial": dial, "part": "value", "start": low, "end": value})
        rows.append({"dial": dial, "part": "target", "start": target - tick, "end": target + tick})
        suffix = " %" if kpi.meta["unit"] == "percent" else ""
        views.append(_dial(dial, low, high, f"{value:,.2f}{suffix}", title or kpi.label))
    return pd.DataFrame(rows), {"hconcat": views, "spacing": 30}


def _dial(dial: str, low: float, high: float, number: str, title: str) -> dict[str, Any]:
    theta = {
        "field": "start",
        "type": "quantitative",
        "scale": {"domain": [low, high], "range": [-math.pi / 2, math.pi / 2]},
    }
    parts = ["critical", "warning", "ok", "value", "target"]
    colours = [BAND_COLOURS["critical"], BAND_COLOURS["warning"], BAND_COLOURS["ok"]]
    colours += [LINE_COLOUR, TARGET_COLOUR]

    def arc(where: str, outer: int, inner: int) -> dict[str, Any]:
        return {
            "transform": [{"filter": f"datum.dial == '{dial}' && ({where})"}],
            "mark": {"type": "arc", "radius": outer, "radius2": inner, "x": 100, "y": 105},
            "encoding": {
                "theta": theta,
                "theta2": {"field": "end"},
                "color": {
                    "field": "part",
                    "type": "nominal",
                    "scale": {"domain": parts, "range": colours},
                    "legend": None,
                },
            },
        }

    number_mark = {"type": "text", "x": 100, "y": 100, "fontSize": 20, "baseline": "bottom"}
    return {
        "title": {"text": title, "fontSize": 13},
        "width": 200,
        "height": 115,
        "layer": [
            arc("datum.part != 'value' && datum.part != 'target'", 90, 70),
            arc("datum.part == 'value'", 64, 46),
            arc("datum.part == 'target'", 94, 42),
            {"data": ONE_ROW, "mark": number_mark, "encoding": {"text": {"value": number}}},
        ],
    }
