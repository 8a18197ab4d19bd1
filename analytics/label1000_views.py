"""Staff page of the 1000-way study: human vs model error with tests, error review and type breakdown."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from analytics import charts
from analytics.human_vs_model import HUMAN, Breakdown, Comparison, ErrorRef, compare, error_breakdown, top5_errors
from analytics.label1000_study import Study, TagError, load_study, set_error_types
from analytics.stats import Estimate
from analytics.views import staff_only
from annotation.models import Dataset, ErrorType, Image, LabelClass

MAX_LISTED_ERRORS = 300


def _bar(estimate: Estimate) -> charts.Bar:
    return charts.Bar(estimate.value, estimate.low, estimate.high)


def _rate_chart(comparisons: list[Comparison], k: int) -> str:
    sides = [c.top1 if k == 1 else c.top5 for c in comparisons]
    return charts.bar_chart(
        [c.model for c in comparisons],
        {"Humans (same images)": [_bar(s.human) for s in sides], "Model": [_bar(s.model) for s in sides]},
        f"Top-{k} error, 95% Wilson intervals", y_label="error",
    )


def _breakdown_chart(breakdown: Breakdown) -> str:
    labels = dict(ErrorType.choices)
    return charts.bar_chart(
        [labels[t] for t in breakdown.types],
        {source: [charts.Bar(breakdown.share(t, source)) for t in breakdown.types] for source in breakdown.sources},
        "Share of reviewed top-5 errors by type", y_max=1.0, width=820, height=300,
    )


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
    context = {
        "dataset": dataset, "comparisons": comparisons, "n_responses": len(study.human),
        "charts": [mark_safe(_rate_chart(comparisons, 1)), mark_safe(_rate_chart(comparisons, 5))]  # noqa: S308
        if comparisons else [],
        "breakdown": breakdown, "type_rows": type_rows,
        "totals": [(breakdown.n_errors[s], breakdown.n_reviewed[s]) for s in breakdown.sources],
        "breakdown_chart": mark_safe(_breakdown_chart(breakdown)) if breakdown.sources else "",  # noqa: S308
        "errors": _error_rows(errors, study), "n_errors": len(errors), "max_listed": MAX_LISTED_ERRORS,
        "error_types": ErrorType.choices, "human": HUMAN,
    }
    return render(request, "analytics/label1000_report.html", context)


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
