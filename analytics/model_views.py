"""Staff page "Models": every model with predictions on a dataset, judged against the new labels."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from analytics import model_report
from analytics.model_evaluation import FIGURES
from annotation.models import Dataset
from relabel.chart_export import export_response
from relabel.staff import staff_only

TABLE_FIGURES = list(FIGURES)


@staff_only
@require_GET
def models_page(request: HttpRequest, name: str) -> HttpResponse:
    dataset = get_object_or_404(Dataset, name=name)
    report = model_report.build_model_report(dataset)
    charts = model_report.plot_charts(report)
    stem = f"{dataset.name}-models"
    if (download := export_response(request, charts, stem)) is not None:
        return download
    rows = [
        {"model": m.model, "origin": report.origins.get(m.model, ""), "images": m.images,
         "cells": [m.figures[figure] for figure in TABLE_FIGURES], "histogram": m.wrong_sf_histogram}
        for m in report.models
    ]
    context = {
        "dataset": dataset, "report": report, "rows": rows,
        "headers": [FIGURES[figure] for figure in TABLE_FIGURES],
        "charts": charts, "chart_stem": stem,
    }
    return render(request, "analytics/models.html", context)
