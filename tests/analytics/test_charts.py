"""Vega-Lite chart specs: class names on axes, ids in tooltips, integer ticks for counts, zero and empty states."""

import json

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
    assert axis["format"] == "d" and axis["tickMinStep"] == 1
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
