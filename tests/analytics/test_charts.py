"""Vega-Lite chart specs: class names on axes, ids in tooltips, integer ticks for counts, zero and empty states."""

import json
import re

import pytest

from relabel import charts
from relabel.charts import Point


def _layers(chart: charts.Chart) -> list[dict]:
    assert chart.spec is not None
    return chart.spec["layer"]


def _values(chart: charts.Chart) -> list[dict]:
    return chart.spec["data"]["values"]


def test_it_gives_counts_integer_ticks_and_labels():
    chart = charts.bar_chart("n", "Images", [Point("1", 5), Point("2", 0)], category_title="objects",
                             value_title="images", counts=True)
    bars, text = _layers(chart)[:2]
    axis = bars["encoding"]["y"]["axis"]
    assert axis["format"] == "d" and axis["values"] == [0, 1, 2, 3, 4, 5]
    assert text["mark"]["type"] == "text" and text["encoding"]["text"]["format"] == "d"


def test_it_draws_a_zero_bar_as_a_labelled_zero():
    chart = charts.bar_chart("n", "Images", [Point("a", 0)], category_title="c", value_title="v", counts=True)
    assert _values(chart)[0]["value"] == 0.0
    assert any(layer["mark"]["type"] == "text" for layer in _layers(chart))


def test_it_says_so_when_there_is_nothing_to_draw():
    chart = charts.bar_chart("n", "Images", [], category_title="c", value_title="v", counts=True, empty="Nothing yet.")
    assert chart.spec is None and chart.empty == "Nothing yet."
    assert charts.heatmap("h", "Matrix", [[0, 0], [0, 0]], ["a", "b"], ["a", "b"]).spec is None


def test_it_puts_class_names_on_the_axis_and_ids_in_the_tooltip():
    chart = charts.bar_chart("pairs", "Pairs", [Point("tabby + tiger cat", 0.5, detail="281 + 282")],
                             category_title="class pair", value_title="p", counts=False, horizontal=True)
    record = _values(chart)[0]
    assert record["category"] == "tabby + tiger cat" and record["detail"] == "281 + 282"
    tooltip = [t["field"] for t in _layers(chart)[0]["encoding"]["tooltip"]]
    assert "detail" in tooltip and "category" in tooltip


def test_it_sizes_charts_to_the_page():
    chart = charts.bar_chart("n", "t", [Point("a", 1)], category_title="c", value_title="v", counts=True)
    assert chart.spec["width"] == "container"
    heat = charts.heatmap("h", "Matrix", [[1, 0], [0, 2]], ["a", "b"], ["a", "b"])
    assert heat.spec["width"] == {"step": charts.CELL} == heat.spec["height"]  # readable cells; scrolls if wide


def test_it_groups_series_side_by_side_with_whiskers():
    points = [Point("single", 0.8, "model_a", 0.7, 0.9), Point("single", 0.6, "model_b", 0.5, 0.7)]
    chart = charts.bar_chart("acc", "Accuracy", points, category_title="images", value_title="accuracy",
                             counts=False, value_max=1.0)
    layers = _layers(chart)
    assert all("xOffset" in layer["encoding"] for layer in layers)
    assert any(layer["mark"]["type"] == "rule" for layer in layers)
    assert layers[0]["encoding"]["color"]["legend"] is not None


def test_it_keeps_markup_in_names_as_plain_data():
    payload = "<script>alert(1)</script>"
    chart = charts.bar_chart("x", payload, [Point(payload, 1, payload)], category_title="c", value_title="v",
                             counts=True)
    assert json.loads(json.dumps(chart.spec))["data"]["values"][0]["category"] == payload


def _axis_labels(chart: charts.Chart) -> list[str]:
    """The tick labels of every axis, as the server-side renderer draws them."""
    from relabel.chart_export import render

    svg = render(chart.spec, "svg").decode()
    groups = re.findall(r'<g class="mark-text role-axis-label"[^>]*>(.*?)</g>', svg, re.S)
    return [label for group in groups for label in re.findall(r"<text[^>]*>([^<]*)</text>", group)]


@pytest.mark.parametrize("peak", [1, 2, 3, 7, 13, 40, 1234])
@pytest.mark.parametrize("horizontal", [False, True], ids=["vertical", "horizontal"])
def test_it_ticks_counts_at_distinct_integers_whatever_the_peak(peak, horizontal):
    chart = charts.bar_chart("n", "Images", [Point("a", peak), Point("b", 0)], category_title="c",
                             value_title="images", counts=True, horizontal=horizontal)
    ticks = [label.replace(",", "") for label in _axis_labels(chart) if label not in ("a", "b")]
    assert ticks == sorted(set(ticks), key=int), ticks  # "0 1 1 2 2" for a peak of 2 before
    assert all(tick.isdigit() for tick in ticks) and int(ticks[-1]) >= peak
    assert 2 <= len(ticks) <= charts.MAX_COUNT_TICKS + 1


def test_it_shows_only_what_a_bar_has_in_its_tooltip():
    plain = charts.bar_chart("n", "Pairs", [Point("tabby", 3)], category_title="class pair", value_title="images",
                             counts=True)
    fields = {t["field"]: t["title"] for t in _layers(plain)[0]["encoding"]["tooltip"]}
    assert fields == {"category": "class pair", "value": "images"}  # no "95% CI low: null", no empty ids
    full = charts.bar_chart("a", "Accuracy", [Point("single", 0.8, "m", 0.7, 0.9, detail="281")],
                            category_title="images", value_title="accuracy", counts=False)
    fields = {t["field"]: t["title"] for t in _layers(full)[0]["encoding"]["tooltip"]}
    assert fields == {"category": "images", "value": "accuracy", "low": "95% CI low", "high": "95% CI high",
                      "detail": "ids"}
