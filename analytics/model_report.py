"""The model report of a dataset: every model's figures (analytics.model_evaluation), as a table,
as JSON for the REST API and the command, and as the paper's plots (each figure against ImageNet
top-1, one point per model with whiskers) in Vega-Lite, built with Altair.

The plots are relabel.charts.Chart objects: the page draws them with the dashboard's vega-embed and
serves them for papers through `?chart=KEY&format=svg|png|pdf` (relabel.chart_export).
"""

from dataclasses import dataclass

import altair as alt
import numpy as np

from analytics import loading
from analytics.model_evaluation import FIGURES, ModelEvaluation, evaluate_models
from analytics.models import ClassifyResult
from annotation.models import Dataset
from relabel.charts import Chart
from relabel.stats import DEFAULT_RESAMPLES

PLOTTED = [name for name in FIGURES if name != "top1"]
ORIGIN_COLOURS = {"ran": "#2457c5", "imported": "#e07b39"}


@dataclass
class ModelReport:
    dataset: str
    images: int
    classify_results: int
    num_objects_tied: int
    main_label_tied: int
    resamples: int
    origins: dict[str, str]
    models: list[ModelEvaluation]

    def as_dict(self) -> dict:
        return {
            "dataset": self.dataset, "images": self.images, "resamples": self.resamples, "level": 0.95,
            "ties": {"classify_results": self.classify_results, "num_objects_tied": self.num_objects_tied,
                     "main_label_tied": self.main_label_tied},
            "figures": FIGURES,
            "models": [{**m.as_dict(), "origin": self.origins.get(m.model, "")} for m in self.models],
        }


def build_model_report(dataset: Dataset, resamples: int = DEFAULT_RESAMPLES, seed: int = 0) -> ModelReport:
    """Load the dataset's aggregates and predictions and judge every model on them."""
    data = loading.load_dataset_arrays(dataset)
    topk = loading.load_topk(dataset, data.image_ids)
    results = ClassifyResult.objects.filter(image__dataset=dataset)
    return ModelReport(
        dataset=dataset.name, images=data.size, classify_results=results.count(),
        num_objects_tied=results.filter(num_objects_tied=True).count(),
        main_label_tied=results.filter(main_label_tied=True).count(),
        resamples=resamples, origins=loading.prediction_origins(dataset),
        models=evaluate_models(data, topk, resamples, seed),
    )


def _rounded(value: float) -> float | None:
    return None if value != value else round(value, 4)


def table(report: ModelReport) -> tuple[list[str], list[list]]:
    """Columns and rows (one per model): each figure with its interval and its number of images."""
    columns = ["model", "origin", "images"]
    for name in FIGURES:
        columns += [name, f"{name}_low", f"{name}_high", f"{name}_n"]
    columns.append("wrong_sf_histogram")
    rows = []
    for model in report.models:
        row = [model.model, report.origins.get(model.model, ""), model.images]
        for name in FIGURES:
            estimate = model.figures[name]
            row += [_rounded(estimate.value), _rounded(estimate.low), _rounded(estimate.high), estimate.n]
        rows.append([*row, " ".join(map(str, model.wrong_sf_histogram))])
    return columns, rows


def _points(report: ModelReport, name: str) -> list[dict]:
    points = []
    for model in report.models:
        x, y = model.figures["top1"], model.figures[name]
        if np.isnan([x.value, y.value]).any():
            continue
        points.append({"model": model.model, "origin": report.origins.get(model.model, ""),
                       "x": x.value, "x_low": x.low, "x_high": x.high, "y": y.value, "y_low": y.low, "y_high": y.high})
    return points


def figure_spec(report: ModelReport, name: str) -> alt.LayerChart:
    """One plot: figure `name` against ImageNet top-1, a point per model with 95 % whiskers."""
    base = alt.Chart(alt.Data(values=_points(report, name)))
    x = alt.X("x:Q", title=FIGURES["top1"], scale=alt.Scale(zero=False, padding=8))
    y = alt.Y("y:Q", title=FIGURES[name], scale=alt.Scale(zero=False, padding=8))
    colour = alt.Color("origin:N", title="predictions", scale=alt.Scale(
        domain=list(ORIGIN_COLOURS), range=list(ORIGIN_COLOURS.values())))
    return alt.layer(
        base.mark_rule(opacity=0.6).encode(x=x, y=alt.Y("y_low:Q"), y2="y_high:Q", color=colour),
        base.mark_rule(opacity=0.6).encode(y=y, x=alt.X("x_low:Q"), x2="x_high:Q", color=colour),
        base.mark_point(filled=True, size=40).encode(x=x, y=y, color=colour, tooltip=["model:N", "x:Q", "y:Q"]),
    ).properties(width="container", height=190, title=FIGURES[name])


def plot_charts(report: ModelReport) -> list[Chart]:
    """Each plotted figure against ImageNet top-1, as a chart of the page (drawn empty when no model has it)."""
    return [
        Chart(f"model-{name}", FIGURES[name], figure_spec(report, name).to_dict() if _points(report, name) else None,
              empty="No model has this figure yet.")
        for name in PLOTTED
    ]
