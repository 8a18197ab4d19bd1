"""Each analysis as a section: a table (for display and CSV export) and its Vega-Lite charts."""

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from analytics import analyses
from analytics.analyses import DatasetArrays
from relabel import charts
from relabel.charts import Chart, Point
from relabel.stats import Estimate


@dataclass
class Section:
    key: str
    title: str
    columns: list[str]
    rows: list[list]
    charts: list[Chart] = field(default_factory=list)
    summary: str = ""


def _point(category: str, series: str, estimate: Estimate) -> Point:
    return Point(category, estimate.value, series, estimate.low, estimate.high, detail=f"n={estimate.n}")


def _r(x: float) -> float | None:
    return None if x != x else round(float(x), 4)


def _bins() -> list[str]:
    return [f"{i / 10:.1f}-{(i + 1) / 10:.1f}" for i in range(analyses.HISTOGRAM_BINS)]


def objects_section(data: DatasetArrays) -> Section:
    result = analyses.objects_per_image(data.num_objects[data.has_classify])
    rows = [[k, n] for k, n in result.counts.items()]
    chart = charts.bar_chart("objects", "Objects per image (CLASSIFY)",
                             [Point(str(k), n) for k, n in result.counts.items()],
                             category_title="objects in the image", value_title="images", counts=True,
                             empty="No CLASSIFY result yet.")
    e = result.multi
    summary = (f"{e.value:.1%} of {e.n} images show several objects (95% CI {e.low:.1%}-{e.high:.1%})"
               if e.n else "No CLASSIFY result yet.")
    return Section("objects", "Objects per image", ["num_objects", "images"], rows, [chart], summary)


def cooccurrence_section(data: DatasetArrays) -> Section:
    pairs = analyses.cooccurring_pairs(data.object_groups)

    def name(index: int) -> str:
        return data.label_names.get(index, str(index))

    rows = [[p.a, p.b, p.n_both, p.n_a, p.n_b, _r(p.p_b_given_a), _r(p.p_a_given_b), name(p.a), name(p.b)]
            for p in pairs]
    chart = charts.bar_chart("cooccurrence", "Top co-occurring class pairs",
                             [Point(f"{name(p.a)} + {name(p.b)}", p.probability, detail=f"{p.a} + {p.b}")
                              for p in pairs],
                             category_title="class pair", value_title="probability", counts=False,
                             horizontal=True, value_max=1.0, empty="No image with several objects yet.")
    return Section("cooccurrence", "Classes co-occurring as distinct objects",
                   ["label_a", "label_b", "images_both", "images_a", "images_b", "p_b_given_a", "p_a_given_b",
                    "name_a", "name_b"],
                   rows, [chart])


def accuracy_section(data: DatasetArrays) -> Section:
    results = analyses.model_accuracy(data.top1, data.original, data.num_objects,
                                      analyses.object_label_sets(data.object_groups), data.has_classify)
    rows = []
    for r in results:
        for metric, e in (("top1_all", r.top1_all), ("top1_single", r.top1_single),
                          ("top1_multi", r.top1_multi), ("multilabel", r.multilabel)):
            rows.append([r.model, metric, _r(e.value), _r(e.low), _r(e.high), e.n])
    points = [_point(metric, r.model, e) for r in results
              for metric, e in (("single-object", r.top1_single), ("multi-object", r.top1_multi),
                                ("multi-label", r.multilabel))]
    chart = charts.bar_chart("accuracy", "Model accuracy (95% bootstrap CI)", points, category_title="images",
                             value_title="accuracy", counts=False, value_max=1.0,
                             empty="No model predictions on CLASSIFY images yet.")
    return Section("accuracy", "Model accuracy: single vs multi-object images",
                   ["model", "metric", "value", "low", "high", "n"], rows, [chart])


def disagreement_section(data: DatasetArrays) -> Section:
    result = analyses.human_label_disagreement(data.original, data.main_votes, data.num_annotators,
                                               data.num_objects, data.main_object, data.original_object)
    rows = [[data.external_ids[i], int(data.original[i]), int(data.main_label[i])] for i in result.majority_elsewhere]
    chart = charts.bar_chart("disagreement", "Share of workers choosing the original label as main",
                             [Point(b, int(n)) for b, n in zip(_bins(), result.share_histogram, strict=True)]
                             if result.n_multi else [],
                             category_title="share of workers", value_title="multi-object images", counts=True,
                             empty="No multi-object image yet.")
    e = result.share_original_main
    summary = (f"On {result.n_multi} multi-object images, {e.value:.1%} of workers chose the original label as "
               f"main (95% CI {e.low:.1%}-{e.high:.1%}); on {len(rows)} the majority chose another object."
               if result.n_multi else "No multi-object image yet.")
    return Section("disagreement", "Human-label disagreement (majority picks another object)",
                   ["image", "original_label", "main_label"], rows, [chart], summary)


def bias_section(data: DatasetArrays) -> Section:
    result = analyses.label_validation_bias(data)
    half, equal = result.histogram(result.at_least_half), result.histogram(result.at_least_equal)
    keys = sorted(set(half) | set(equal))
    rows = [[k, half.get(k, 0), equal.get(k, 0)] for k in keys]
    points = [Point(str(k), count.get(k, 0), series) for k in keys
              for series, count in (("SF ≥ ½·SF(original)", half), ("SF ≥ SF(original)", equal))]
    chart = charts.bar_chart("bias", "Other labels validated as often as the original", points,
                             category_title="other labels", value_title="images", counts=True,
                             empty="No selection frequencies yet.")
    return Section("bias", "Label-validation bias", ["labels", "images_at_least_half", "images_at_least_equal"],
                   rows, [chart])


def confusing_section(data: DatasetArrays) -> Section:
    pairs = analyses.confusing_pairs(data)
    models = sorted(data.top1)
    def name(index: int) -> str:
        return data.label_names.get(index, str(index))

    chart = charts.bar_chart("confusing", "Pairs selected as both valid",
                             [Point(f"{name(p.a)} / {name(p.b)}", p.n_both_valid, detail=f"{p.a} / {p.b}")
                              for p in pairs],
                             category_title="class pair", value_title="images", counts=True, horizontal=True,
                             empty="No pair of classes selected as both valid yet.")
    rows = [[p.a, p.b, p.n_both_valid, p.n_images, *[_r(p.model_accuracy[m]) for m in models], name(p.a), name(p.b)]
            for p in pairs]
    return Section("confusing", "Confusing class pairs",
                   ["label_a", "label_b", "images_both_valid", "images_of_either", *[f"acc_{m}" for m in models],
                    "name_a", "name_b"],
                   rows, [chart])


def human_eval_section(data: DatasetArrays) -> Section:
    results = analyses.human_in_the_loop(data)
    rows = []
    for r in results:
        for metric, e in (("sf_prediction", r.sf_prediction), ("sf_original", r.sf_original),
                          ("prediction_is_main", r.matches_main), ("wrong_but_valid", r.wrong_but_valid)):
            rows.append([r.model, metric, _r(e.value), _r(e.low), _r(e.high), e.n])
    sf_chart = charts.bar_chart(
        "human_eval", "Human-in-the-loop evaluation (95% bootstrap CI)",
        [_point(metric, r.model, e) for r in results
         for metric, e in (("SF(top-1)", r.sf_prediction), ("SF(original)", r.sf_original),
                           ("top-1 = main", r.matches_main))],
        category_title="measure", value_title="share", counts=False, value_max=1.0,
        empty="No model predictions with selection frequencies yet.",
    )
    wrong_chart = charts.bar_chart(
        "human_eval-wrong", "SF of predictions counted wrong by the original label",
        [Point(b, int(n), r.model) for r in results for b, n in zip(_bins(), r.wrong_sf_histogram, strict=True)],
        category_title="selection frequency", value_title="images", counts=True,
        empty="No model predictions with selection frequencies yet.",
    )
    return Section("human_eval", "Human-in-the-loop model evaluation",
                   ["model", "metric", "value", "low", "high", "n"], rows, [sf_chart, wrong_chart])


def superclass_section(data: DatasetArrays) -> Section:
    mask = data.has_classify
    rows: list[list] = []
    figures = []
    for model, preds in sorted(data.top1.items()):
        matrix = analyses.superclass_confusion(preds[mask], data.main_label[mask], data.superclass_of)
        figures.append(charts.heatmap(f"superclass-{model}", f"Superclass confusion: {model} vs human main label",
                                   matrix.counts.tolist(), matrix.names, matrix.names,
                                   row_title="model", col_title="human"))
        rows += [["confusion", model, a, b, int(matrix.counts[i, j])]
                 for i, a in enumerate(matrix.names) for j, b in enumerate(matrix.names) if matrix.counts[i, j]]
    co = analyses.superclass_cooccurrence(data.object_groups, data.superclass_of)
    figures.append(charts.heatmap("superclass-cooccurrence", "Superclass co-occurrence (distinct objects)",
                               co.counts.tolist(), co.names, co.names))
    rows += [["cooccurrence", "", a, b, int(co.counts[i, j])]
             for i, a in enumerate(co.names) for j, b in enumerate(co.names) if co.counts[i, j]]
    return Section("superclass", "Superclass confusion and co-occurrence",
                   ["matrix", "model", "row", "column", "images"], rows, figures)


BUILDERS: dict[str, Callable[[DatasetArrays], Section]] = {
    "objects": objects_section,
    "cooccurrence": cooccurrence_section,
    "accuracy": accuracy_section,
    "disagreement": disagreement_section,
    "bias": bias_section,
    "confusing": confusing_section,
    "human_eval": human_eval_section,
    "superclass": superclass_section,
}


def build_sections(data: DatasetArrays) -> list[Section]:
    """Every analysis section for a dataset (nearest neighbours live on the image page)."""
    return [build(data) for build in BUILDERS.values()]


def neighbour_rows(ids: np.ndarray, vectors: np.ndarray, image_id: int, k: int = 8) -> list[tuple[int, float, bool]]:
    """(image id, cosine similarity, near-duplicate) of the k nearest images to `image_id`."""
    where = np.flatnonzero(ids == image_id)
    if where.size == 0:
        return []
    return [(int(ids[n.position]), n.similarity, n.near_duplicate)
            for n in analyses.nearest_neighbours(vectors, int(where[0]), k)]
