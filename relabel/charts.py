"""Charts as Vega-Lite specifications built with Altair.

Pages draw them with vega-embed (served from static/vendor/, see scripts/vendor_js.py) through the
`charts/chart.html` include; `relabel.chart_export` renders the same spec as SVG, PNG or PDF.
A chart is data, never markup: the spec reaches the page through json_script and vega-embed draws
text as text, so nothing here needs escaping.

A page with charts (see analytics.views.image_detail):
    chart = charts.bar_chart("sf", "Title", [charts.Point("tabby", 0.4, detail="281")], category_title=...,
                             value_title=..., counts=False)          # or heatmap(); any Altair chart's
                                                                     # to_dict() fits Chart(key, title, spec)
    if (exported := export_response(request, [chart], stem)) is not None:
        return exported                                              # ?chart=sf&format=svg|png|pdf
    template: {% include "charts/chart.html" with chart=chart %}, and once in {% block scripts %}:
              {% include "charts/scripts.html" %}
"""

import itertools
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import altair as alt

PALETTE = ["#2457c5", "#e07b39", "#1f8a4c", "#8e44ad", "#b3261e", "#16a0a8", "#7f8c8d", "#c29d0b"]
BAR_STEP = 22  # pixels per category (per group of series) on horizontal bar charts
PLOT_HEIGHT = 240
CELL = 24  # pixels per heat-map cell
COUNT_FORMAT = "d"
SHARE_FORMAT = ".2f"
MAX_COUNT_TICKS = 6  # intervals on a count axis, at most


@dataclass(frozen=True)
class Chart:
    """One chart of a page: `key` is unique on the page and names it in `?chart=KEY&format=svg`."""

    key: str
    title: str
    spec: dict | None  # None: nothing to draw yet, the page shows `empty` instead
    empty: str = "No data yet."


@dataclass(frozen=True)
class Point:
    """One bar: its category (a class name where a class appears), value, series and interval.

    `detail` goes to the tooltip and the exports only, e.g. the class indices behind a name.
    """

    category: str
    value: float
    series: str = ""
    low: float | None = None
    high: float | None = None
    detail: str = ""


def _finite(x: float | None) -> float | None:
    return None if x is None or x != x else float(x)


def _records(points: Sequence[Point]) -> list[dict]:
    return [
        {"category": p.category, "series": p.series, "value": _finite(p.value), "low": _finite(p.low),
         "high": _finite(p.high), "detail": p.detail}
        for p in points
    ]


def _nice_steps() -> Iterator[int]:
    for power in itertools.count():
        yield from (base * 10**power for base in (1, 2, 5))


def _count_ticks(peak: float) -> list[int]:
    """0, s, 2s, ... up to the first multiple of s at or above `peak`, s being the smallest 1-2-5 step that
    needs at most MAX_COUNT_TICKS intervals. Vega's tickMinStep only caps how many ticks there are, not their
    step: an axis from 0 to 2 still got a tick every 0.5, labelled "0 1 1 2 2" once formatted as integers."""
    top = max(1, math.ceil(peak))
    step = next(step for step in _nice_steps() if math.ceil(top / step) <= MAX_COUNT_TICKS)
    return list(range(0, math.ceil(top / step) * step + 1, step))


def _value_encoding(points: Sequence[Point], title: str, counts: bool, value_max: float | None) -> dict:
    """Axis and scale of the bars' values: integer ticks that cover the tallest bar (or its whisker) for counts."""
    if counts:
        peak = value_max if value_max is not None else max(
            (v for p in points for v in (p.value, p.high) if _finite(v) is not None), default=0)
        ticks = [tick for tick in _count_ticks(peak) if value_max is None or tick <= value_max]
        axis = alt.Axis(title=title, format=COUNT_FORMAT, values=ticks)
        return {"axis": axis, "scale": alt.Scale(domain=[0, value_max or ticks[-1]], nice=False, clamp=True)}
    axis = alt.Axis(title=title, format=SHARE_FORMAT, tickCount=5)
    scale = alt.Scale(domain=[0, value_max], clamp=True) if value_max is not None else alt.Scale(zero=True)
    return {"axis": axis, "scale": scale}


def _tooltip(points: Sequence[Point], category_title: str, value_title: str, counts: bool,
             with_series: bool) -> list[alt.Tooltip]:
    """What a bar has: its category, series and value, its interval and ids only where some bar has them."""
    fmt = COUNT_FORMAT if counts else ".3f"
    tips = [alt.Tooltip("category:N", title=category_title)]
    if with_series:
        tips.append(alt.Tooltip("series:N", title="series"))
    tips.append(alt.Tooltip("value:Q", title=value_title, format=fmt))
    if any(p.low is not None or p.high is not None for p in points):
        tips += [alt.Tooltip("low:Q", title="95% CI low", format=fmt),
                 alt.Tooltip("high:Q", title="95% CI high", format=fmt)]
    if any(p.detail for p in points):
        tips.append(alt.Tooltip("detail:N", title="ids"))
    return tips


def bar_chart(
    key: str,
    title: str,
    points: Sequence[Point],
    *,
    category_title: str,
    value_title: str,
    counts: bool,
    horizontal: bool = False,
    value_max: float | None = None,
    empty: str = "No data yet.",
) -> Chart:
    """Bars in the order given, grouped by series when there are several, whiskers where low/high are set.

    `counts` gives integer ticks and labels; `horizontal` suits long category names (class names),
    which then read left to right instead of being rotated and clipped. Every bar carries its value
    as text, so a zero bar is drawn as "0" rather than left invisible.
    """
    if not points:
        return Chart(key, title, None, empty)
    categories = list(dict.fromkeys(p.category for p in points))
    series = list(dict.fromkeys(p.series for p in points))
    coloured = len(series) > 1
    grouped = len(points) > len(categories)  # several series share a category: bars side by side
    value_encoding = _value_encoding(points, value_title, counts, value_max)
    value = alt.Y("value:Q", **value_encoding)
    category = alt.X("category:N", sort=categories, axis=alt.Axis(title=category_title, labelAngle=0,
                                                                 labelLimit=120, labelOverlap=True))
    low, high = alt.Y("low:Q"), alt.Y2("high:Q")
    offset = alt.XOffset("series:N", sort=series)
    if horizontal:
        value = alt.X("value:Q", **value_encoding)
        category = alt.Y("category:N", sort=categories, axis=alt.Axis(title=category_title, labelLimit=260))
        low, high, offset = alt.X("low:Q"), alt.X2("high:Q"), alt.YOffset("series:N", sort=series)
    base = alt.Chart(alt.Data(values=_records(points))).encode(category, value)
    colour = alt.Color("series:N", sort=series, scale=alt.Scale(range=PALETTE),
                       legend=alt.Legend(title=None, orient="bottom") if coloured else None)
    bars = base.mark_bar().encode(colour, tooltip=_tooltip(points, category_title, value_title, counts, coloured))
    text = base.mark_text(align="left" if horizontal else "center", baseline="middle" if horizontal else "bottom",
                          dx=3 if horizontal else 0, dy=0 if horizontal else -2, fontSize=10, color="#1d2330")
    text = text.encode(text=alt.Text("value:Q", format=COUNT_FORMAT if counts else SHARE_FORMAT))
    text = text.transform_filter("datum.value != null")
    layers = [bars, text]
    if any(p.low is not None for p in points):
        whiskers = base.mark_rule(color="#1d2330").encode(low, high).transform_filter("datum.low != null")
        layers.append(whiskers)
    if grouped:
        layers = [layer.encode(offset) for layer in layers]
    # As tall as the bars need, in pixels: a {"step": ...} height beside the "container" width makes Vega-Lite
    # warn in the console on every page ("Dropping fit-y because spec has discrete height").
    height = BAR_STEP * len(categories) * (len(series) if grouped else 1) if horizontal else PLOT_HEIGHT
    chart = alt.layer(*layers).properties(title=title, width="container", height=height)
    return Chart(key, title, chart.to_dict(), empty)


def heatmap(
    key: str,
    title: str,
    matrix: Sequence[Sequence[float]],
    rows: Sequence[str],
    cols: Sequence[str],
    *,
    row_title: str = "",
    col_title: str = "",
    empty: str = "No data yet.",
) -> Chart:
    """A matrix of counts as shaded cells of a fixed size, each with its number (zeros included, on a pale cell)."""
    records = [{"row": r, "col": c, "n": int(matrix[i][j])} for i, r in enumerate(rows) for j, c in enumerate(cols)]
    if not records or not any(rec["n"] for rec in records):
        return Chart(key, title, None, empty)
    base = alt.Chart(alt.Data(values=records)).encode(
        alt.X("col:N", sort=list(cols), axis=alt.Axis(title=col_title, labelAngle=-40, labelLimit=160)),
        alt.Y("row:N", sort=list(rows), axis=alt.Axis(title=row_title, labelLimit=200)),
    )
    cells = base.mark_rect(stroke="#ffffff").encode(
        alt.Color("n:Q", scale=alt.Scale(scheme="blues", domainMin=0), legend=alt.Legend(title="images",
                                                                                        format=COUNT_FORMAT)),
        tooltip=[alt.Tooltip("row:N", title=row_title or "row"), alt.Tooltip("col:N", title=col_title or "column"),
                 alt.Tooltip("n:Q", title="images", format=COUNT_FORMAT)],
    )
    peak = max(rec["n"] for rec in records)
    numbers = base.mark_text(fontSize=10).encode(
        alt.Text("n:Q", format=COUNT_FORMAT),
        color=alt.condition(f"datum.n > {peak / 2}", alt.value("#ffffff"), alt.value("#1d2330")),
    )
    # Cells keep a readable size on any screen: a wide matrix scrolls inside its box (.vega-chart) on a phone.
    chart = alt.layer(cells, numbers).properties(title=title, width={"step": CELL}, height={"step": CELL})
    return Chart(key, title, chart.to_dict(), empty)
