"""Staff page of the 1000-way study: human vs model error with tests, error review and type breakdown."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from annotation.models import Dataset, Image, LabelClass
from label1000.human_vs_model import HUMAN, Breakdown, Comparison, ErrorRef, compare, error_breakdown, top5_errors
from label1000.models import ErrorType
from label1000.study import Study, TagError, load_study, set_error_types
from relabel import charts
from relabel.chart_export import export_response
from relabel.staff import staff_only
from relabel.stats import Estimate

MAX_LISTED_ERRORS = 300


def _point(model: str, series: str, estimate: Estimate) -> charts.Point:
    return charts.Point(model, estimate.value, series, estimate.low, estimate.high)


def _rate_chart(comparisons: list[Comparison], k: int) -> charts.Chart:
    sides = [(c.model, c.top1 if k == 1 else c.top5) for c in comparisons]
    points = [p for model, s in sides for p in (_point(model, "Humans (same images)", s.human),
                                                _point(model, "Model", s.model))]
    return charts.bar_chart(f"top{k}", f"Top-{k} error, 95% Wilson intervals", points, category_title="model",
                            value_title="error", counts=False, empty="No evaluated answers with predictions yet.")


def _breakdown_chart(breakdown: Breakdown) -> charts.Chart:
    labels = dict(ErrorType.choices)
    points = [charts.Point(labels[t], breakdown.share(t, source), "Humans" if source == HUMAN else source)
              for t in breakdown.types for source in breakdown.sources
              if breakdown.share(t, source) == breakdown.share(t, source)]  # NaN: no reviewed error
    return charts.bar_chart("error-types", "Share of reviewed top-5 errors by type", points,
                            category_title="error type", value_title="share of reviewed errors", counts=False,
                            horizontal=True, value_max=1.0, empty="No reviewed error yet.")


def _error_rows(errors: list[ErrorRef], study: Study) -> list[dict]:
    shown = errors[:MAX_LISTED_ERRORS]
    images = Image.objects.in_bulk({e.image for e in shown})
    guesses = {ErrorRef(HUMAN, t.image, rid): t.labels for rid, t in study.human.items()}
    for name, trials in study.models.items():
        guesses.update({ErrorRef(name, t.image): t.labels for t in trials})
    names = dict(LabelClass.objects.values_list("index", "name"))
    return [
        {
            "ref": e, "image": images[e.image], "truth": names.get(study.truths[e.image]),
            "guesses": [names.get(i, i) for i in guesses[e]],
            "types": set(study.tags.get(e, ())),
        }
        for e in shown
    ]


@staff_only
def report(request: HttpRequest, name: str) -> HttpResponse:
    dataset = get_object_or_404(Dataset, name=name)
    study = load_study(dataset)
    comparisons = compare(list(study.human.values()), study.models, study.truths)
    errors = top5_errors(study.human, study.models, study.truths)
    breakdown = error_breakdown(errors, study.tags, ErrorType.values)
    type_rows = [
        {"label": label, "cells": [(breakdown.counts[value][s], breakdown.share(value, s)) for s in breakdown.sources]}
        for value, label in ErrorType.choices
    ]
    rate_charts = [_rate_chart(comparisons, 1), _rate_chart(comparisons, 5)]
    breakdown_chart = _breakdown_chart(breakdown)
    stem = f"{dataset.name}-label1000"
    exported = export_response(request, [*rate_charts, breakdown_chart], stem)
    if exported is not None:
        return exported
    context = {
        "dataset": dataset, "chart_stem": stem, "comparisons": comparisons, "n_responses": len(study.human),
        "charts": rate_charts if comparisons else [],
        "breakdown": breakdown, "type_rows": type_rows,
        "totals": [(breakdown.n_errors[s], breakdown.n_reviewed[s]) for s in breakdown.sources],
        "breakdown_chart": breakdown_chart if breakdown.sources else None,
        "errors": _error_rows(errors, study), "n_errors": len(errors), "max_listed": MAX_LISTED_ERRORS,
        "error_types": ErrorType.choices, "human": HUMAN,
    }
    return render(request, "label1000/report.html", context)


@staff_only
@require_POST
def tag_error(request: HttpRequest, name: str) -> HttpResponse:
    """Replace the error types of one human or model error, then go back to it on the report."""
    dataset = get_object_or_404(Dataset, name=name)
    try:
        image = int(request.POST.get("image", ""))
        response = int(request.POST["response"]) if request.POST.get("response") else None
    except ValueError:
        return HttpResponse("image and response must be ids", status=400)
    ref = ErrorRef(request.POST.get("source", ""), image, response)
    try:
        set_error_types(dataset, ref, request.POST.getlist("types"), request.user)
    except TagError as exc:
        return HttpResponse(str(exc), status=400)
    anchor = f"#err-{ref.source}-{ref.image}-{ref.response or ''}"
    return redirect(reverse("analytics:label1000", args=[dataset.name]) + anchor)
