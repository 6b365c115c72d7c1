"""The Vega-Lite charts of the pages and the reports: trends with target and forecast
band, bars, dials with threshold bands. Each function returns (data, spec); the pages
draw them with Streamlit's `st.vega_lite_chart`, the reports as SVG rendered here in
Python (`svg`, vl-convert: no JavaScript or network in the file). Vega draws text from the
data as text (no HTML is read), so labels are passed as they are."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from opsmetrics.semantic import Kpi

BAND_COLOURS = {"ok": "#c8e6c9", "warning": "#ffe0b2", "critical": "#ffcdd2"}
LINE_COLOUR = "#1f4e79"
TARGET_COLOUR = "#2e7d32"
DIAL_WIDTH = 200
"""A dial's width at full size; narrower columns shrink it (never wider than its column)."""
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


def dial(value: float, kpi: Kpi, title: str | None = None) -> Chart:
    """One dial as its own chart: a half ring of the KPI's critical, warning and ok bands,
    the value as an inner arc and a number, the target as a tick. It takes its
    container's width up to DIAL_WIDTH (the ring shrinks with a narrower column), so the
    page lays dials out in rows of columns and none is ever cut off."""
    low, high, bands = gauge_bands(value, kpi)
    target = float(kpi.meta["target"])
    tick = (high - low) / 200
    rows = [{"part": band, "start": start, "end": end} for start, end, band in bands]
    rows.append({"part": "value", "start": low, "end": value})
    rows.append({"part": "target", "start": target - tick, "end": target + tick})
    suffix = " %" if kpi.meta["unit"] == "percent" else ""
    return pd.DataFrame(rows), _dial(low, high, f"{value:,.2f}{suffix}", title or kpi.label)


def _dial(low: float, high: float, number: str, title: str) -> dict[str, Any]:
    theta = {
        "field": "start",
        "type": "quantitative",
        "scale": {"domain": [low, high], "range": [-math.pi / 2, math.pi / 2]},
    }
    parts = ["critical", "warning", "ok", "value", "target"]
    colours = [BAND_COLOURS["critical"], BAND_COLOURS["warning"], BAND_COLOURS["ok"]]
    colours += [LINE_COLOUR, TARGET_COLOUR]
    # Sizes scale with the view's width (the column's), at most the full-size dial.
    scale = f"min(1, width / {DIAL_WIDTH})"
    centre = {"x": {"expr": "width / 2"}, "y": 105}

    def arc(where: str, outer: int, inner: int) -> dict[str, Any]:
        return {
            "transform": [{"filter": where}],
            "mark": {
                "type": "arc",
                "radius": {"expr": f"{outer} * {scale}"},
                "radius2": {"expr": f"{inner} * {scale}"},
                **centre,
            },
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

    number_mark = {"type": "text", **centre, "y": 100, "baseline": "bottom"}
    number_mark["fontSize"] = {"expr": f"20 * {scale}"}
    return {
        "title": {"text": title, "fontSize": 13, "limit": {"expr": "width"}},
        "height": 115,
        "autosize": {"type": "fit-x", "contains": "padding"},
        "layer": [
            arc("datum.part != 'value' && datum.part != 'target'", 90, 70),
            arc("datum.part == 'value'", 64, 46),
            arc("datum.part == 'target'", 94, 42),
            {"data": ONE_ROW, "mark": number_mark, "encoding": {"text": {"value": number}}},
        ],
    }


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON values: dates as ISO text (midnight as a plain date, which Vega reads
    as UTC), missing values as null."""
    out = frame.copy()
    for column in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[column]):
            midnight = (out[column].dropna() == out[column].dropna().dt.normalize()).all()
            fmt = "%Y-%m-%d" if midnight else "%Y-%m-%dT%H:%M:%SZ"
            out[column] = out[column].dt.strftime(fmt)
    out = out.astype(object).where(out.notna(), None)
    return out.to_dict("records")


def inline(chart: Chart, width: int) -> dict[str, Any]:
    """A chart as one self-contained Vega-Lite spec (its rows inlined) of `width` px."""
    data, spec = chart
    return {
        "width": width,
        "autosize": {"type": "fit-x", "contains": "padding"},
        **spec,
        "data": {"values": _records(data)},
    }


def svg(chart: Chart, width: int = 640) -> str:
    """A chart as an SVG document, rendered in-process by vl-convert with no data URL
    allowed (nothing is fetched): what a report inlines."""
    import vl_convert

    return vl_convert.vegalite_to_svg(inline(chart, width), allowed_base_urls=[])
