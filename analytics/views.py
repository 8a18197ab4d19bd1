"""Staff dashboard: per-dataset progress, money, every analysis as a chart, workers, image drill-down."""

import csv
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Avg, Count, F, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from analytics import jobs, loading, report
from analytics.models import ClassifyResult, JobRun, SelectionFrequency
from annotation.models import CandidateLabel, ClassifyResponse, ContainsJudgment, Dataset, Image, LabelClass
from models_zoo.models import Prediction
from relabel import charts
from relabel.chart_export import export_response
from relabel.csv_safety import safe_cell
from relabel.staff import staff_only
from tasks.models import Assignment, Batch, Hit, TaskKind, Worker
from tasks.pricing import platform_fee_rate
from tasks.privacy import public_worker_id
from tasks.quality import COUNTED_STATUSES, counted
from tasks.services import spent_cost
from tasks.tasks import top_up_task
from tasks.top_up import ADAPTIVE_KINDS, Savings, savings


def stage_progress(dataset: Dataset) -> dict:
    """Counts for each pipeline stage of a dataset."""
    hits = Hit.objects.filter(batch__dataset=dataset)
    progress = {
        "imported": Image.objects.filter(dataset=dataset).count(),
        "with_predictions": Prediction.objects.filter(image__dataset=dataset).values("image_id").distinct().count(),
        "candidates": CandidateLabel.objects.filter(image__dataset=dataset).count(),
        "contains_judgments": ContainsJudgment.objects.filter(image__dataset=dataset).count(),
        "classify_responses": ClassifyResponse.objects.filter(image__dataset=dataset).count(),
        "selection_frequencies": SelectionFrequency.objects.filter(image__dataset=dataset).count(),
        "classify_results": ClassifyResult.objects.filter(image__dataset=dataset).count(),
        "classify_tied": ClassifyResult.objects.filter(
            Q(num_objects_tied=True) | Q(main_label_tied=True), image__dataset=dataset
        ).count(),
    }
    progress["assignments"] = submitted_by_confirmation(dataset)
    answered = Assignment.objects.filter(counted(), hit=OuterRef("pk")).values("hit").annotate(n=Count("id"))
    hits = hits.annotate(answers=Coalesce(Subquery(answered.values("n")), 0))
    # Local HITs are never closed by a platform: one with all its answers is done while still published.
    done = Q(status=Hit.Status.COMPLETE) | Q(status=Hit.Status.PUBLISHED, answers__gte=F("batch__assignments_per_hit"))
    for kind in (TaskKind.CONTAINS, TaskKind.CLASSIFY, TaskKind.LABEL1000):
        counts = hits.filter(batch__kind=kind).aggregate(
            total=Count("id"),
            published=Count("id", filter=~Q(status=Hit.Status.DRAFT)),
            done=Count("id", filter=done),
        )
        progress[kind] = counts
    return progress


def submitted_by_confirmation(dataset: Dataset) -> dict[str, int]:
    """Submitted or approved assignments of the dataset by their platform's word: only confirmed ones count."""
    Confirmation = Assignment.Confirmation
    done = Assignment.objects.filter(hit__batch__dataset=dataset, status__in=COUNTED_STATUSES)
    return done.aggregate(**{
        state: Count("id", filter=Q(confirmation=state))
        for state in (Confirmation.CONFIRMED, Confirmation.UNCONFIRMED, Confirmation.DISCARDED)
    })


def money(dataset: Dataset) -> dict:
    """Spent: what the platforms charged (tasks.services.spent_cost: rewards, bonuses, each round's fees).
    Committed: the full cost of every published HIT still open. Unanswered: work submitted on a platform
    whose answers never reached us, awaiting the researcher's decision (it is paid if left alone); on
    Prolific the HITs of such a session, decided on Prolific's site."""
    spent = Decimal(0)
    committed = Decimal(0)
    for batch in Batch.objects.filter(dataset=dataset):
        spent += spent_cost(batch).total
        open_hits = batch.hits.filter(status=Hit.Status.PUBLISHED).count()
        rate = 1 + platform_fee_rate(batch.provider, batch.assignments_per_hit)
        committed += open_hits * batch.assignments_per_hit * batch.reward * rate
    missing = Assignment.objects.filter(hit__batch__dataset=dataset, answer_missing=True)
    return {"spent": spent.quantize(Decimal("0.01")), "committed": committed.quantize(Decimal("0.01")),
            "unanswered": missing.filter(status=Assignment.Status.SUBMITTED).count(),
            "unanswered_prolific": missing.filter(status=Assignment.Status.ACCEPTED).count()}


def adaptive_savings(dataset: Dataset) -> list[Savings]:
    """Decided / undecided items and what adaptive redundancy saved, per stage that uses it."""
    return [found for kind in ADAPTIVE_KINDS if (found := savings(dataset, kind)) is not None]


def worker_quality(dataset: Dataset, limit: int = 200) -> list[dict]:
    """Per worker on this dataset: assignments, flagged share, gold accuracy, selection rate."""
    scope = Q(assignments__hit__batch__dataset=dataset, assignments__status__in=COUNTED_STATUSES)
    workers = (
        Worker.objects.filter(scope)
        .annotate(
            n_assignments=Count("assignments", filter=scope, distinct=True),
            n_flagged=Count("assignments", filter=scope & Q(assignments__flagged=True), distinct=True),
            n_unconfirmed=Count(
                "assignments", filter=scope & ~Q(assignments__confirmation=Assignment.Confirmation.CONFIRMED),
                distinct=True,
            ),
            gold=Avg("assignments__gold_accuracy", filter=scope),
        )
        .distinct()
        .order_by("-n_assignments", "id")[:limit]
    )
    rows = []
    for worker in workers:
        judgments = ContainsJudgment.objects.filter(assignment__worker=worker, image__dataset=dataset).aggregate(
            n=Count("id"), selected=Count("id", filter=Q(selected=True))
        )
        rows.append({
            "worker": public_worker_id(worker),
            "provider": worker.provider,
            "simulated": worker.is_simulated,
            "blocked": worker.blocked,
            "assignments": worker.n_assignments,
            "flagged": worker.n_flagged,
            "unconfirmed": worker.n_unconfirmed,
            "gold": worker.gold,
            "judgments": judgments["n"],
            "selection_rate": judgments["selected"] / judgments["n"] if judgments["n"] else None,
        })
    return rows


@staff_only
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    datasets = [(dataset, stage_progress(dataset)) for dataset in Dataset.objects.order_by("name")]
    return render(request, "analytics/index.html", {"datasets": datasets})


@staff_only
@require_GET
def dataset_dashboard(request: HttpRequest, name: str) -> HttpResponse:
    dataset = get_object_or_404(Dataset, name=name)
    sections = report.build_sections(loading.load_dataset_arrays(dataset))
    exported = export_response(request, [chart for section in sections for chart in section.charts], dataset.name)
    if exported is not None:
        return exported
    context = {
        "dataset": dataset,
        "chart_stem": dataset.name,
        "progress": stage_progress(dataset),
        "money": money(dataset),
        "adaptive": adaptive_savings(dataset),
        "sections": sections,
        "workers": worker_quality(dataset),
        "jobs": _recent_jobs(dataset),
        "job_kinds": JobRun.Kind.choices,
        "images": Image.objects.filter(dataset=dataset).select_related("original_label").order_by("id")[:60],
    }
    return render(request, "analytics/dataset.html", context)


@staff_only
@require_GET
def analysis_csv(request: HttpRequest, name: str, key: str) -> HttpResponse:
    dataset = get_object_or_404(Dataset, name=name)
    if key not in report.BUILDERS:
        raise Http404("No such analysis.")
    section = report.BUILDERS[key](loading.load_dataset_arrays(dataset))
    response = HttpResponse(content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{dataset.name}-{key}.csv"'
    writer = csv.writer(response, lineterminator="\n")
    writer.writerow(map(safe_cell, section.columns))
    writer.writerows(map(safe_cell, row) for row in section.rows)
    return response


def _candidate_rows(image: Image) -> list[dict]:
    sf = {row.label_id: row for row in SelectionFrequency.objects.filter(image=image)}
    rows = []
    for candidate in CandidateLabel.objects.filter(image=image).select_related("label").order_by("label__index"):
        row = sf.get(candidate.label_id)
        rows.append({
            "label": candidate.label,
            "is_original": candidate.is_original,
            "models": sorted({source.get("model", "?") for source in candidate.sources}),
            "sf": row.sf if row else None,
            "n": f"{row.n_selected}/{row.n_shown}" if row else "",
        })
    rows.sort(key=lambda r: -(r["sf"] or 0))
    return rows


def _neighbours(image: Image) -> list[dict]:
    models = loading.feature_models(image.dataset)
    if not models:
        return []
    model = settings.RELABEL_FEATURE_MODEL if settings.RELABEL_FEATURE_MODEL in models else models[0]
    ids, vectors = loading.load_features(image.dataset, model)
    found = report.neighbour_rows(ids, vectors, image.pk)
    images = Image.objects.in_bulk([image_id for image_id, _, _ in found])
    return [{"image": images[i], "similarity": s, "duplicate": d, "model": model} for i, s, d in found if i in images]


@staff_only
@require_GET
def image_detail(request: HttpRequest, name: str, image_id: int) -> HttpResponse:
    images = Image.objects.select_related("dataset", "original_label")
    image = get_object_or_404(images, pk=image_id, dataset__name=name)
    candidates = _candidate_rows(image)
    sf_chart = charts.bar_chart(
        "sf", "Selection frequency per candidate",
        [charts.Point(c["label"].name, c["sf"] or 0.0, "original label" if c["is_original"] else "other candidate",
                      detail=f"{c['label'].index} ({c['n'] or 'not shown yet'})") for c in candidates],
        category_title="candidate label", value_title="selection frequency", counts=False, horizontal=True,
        value_max=1.0, empty="No candidate label yet.",
    )
    stem = f"{image.dataset.name}-{image.external_id}"
    exported = export_response(request, [sf_chart], stem)
    if exported is not None:
        return exported
    result = ClassifyResult.objects.filter(image=image).select_related("main_label").first()
    names = dict(LabelClass.objects.values_list("index", "name"))
    context = {
        "image": image,
        "chart_stem": stem,
        "candidates": candidates,
        "sf_chart": sf_chart,
        "result": result,
        "votes": sorted(((names.get(int(k), k), int(k), v) for k, v in (result.main_votes if result else {}).items()),
                        key=lambda t: -t[2]),
        "groups": [[(label, names.get(label, "?")) for label in group]
                   for group in (result.object_groups if result else [])],
        "predictions": [
            {"model": p.model_name, "top": [(label, names.get(label, "?"), prob) for label, prob in
                                            zip(p.labels, p.probs or [None] * len(p.labels), strict=False)]}
            for p in Prediction.objects.filter(image=image).order_by("model_name")
        ],
        "neighbours": _neighbours(image),
    }
    return render(request, "analytics/image.html", context)


@staff_only
@require_POST
def start_job(request: HttpRequest, name: str, kind: str) -> HttpResponse:
    dataset = get_object_or_404(Dataset, name=name)
    try:
        job = jobs.start_job(dataset, kind, request.user.pk)
    except jobs.JobError as exc:
        return JsonResponse({"detail": str(exc)}, status=400)
    if request.headers.get("Accept", "").startswith("application/json"):
        return JsonResponse(job_payload(job), status=202)
    return redirect("analytics:dataset", name=dataset.name)


@staff_only
@require_POST
def top_up(request: HttpRequest, name: str, kind: str) -> HttpResponse:
    """Queue a top-up of the dataset's adaptive `kind` (tasks.top_up): draft HITs, published by publish_hits."""
    dataset = get_object_or_404(Dataset, name=name)
    if kind not in ADAPTIVE_KINDS:
        raise Http404("Only CONTAINS and CLASSIFY are topped up.")
    transaction.on_commit(lambda: top_up_task.delay(dataset.pk, kind))
    return redirect(f"{reverse('analytics:dataset', args=[dataset.name])}#adaptive")


def _recent_jobs(dataset: Dataset) -> list[JobRun]:
    jobs.fail_stale_jobs()
    return list(JobRun.objects.filter(dataset=dataset)[:10])


def job_payload(job: JobRun) -> dict:
    return {"id": job.pk, "kind": job.kind, "status": job.status, "progress": job.progress, "message": job.message}


@staff_only
@require_GET
def job_status(request: HttpRequest, job_id: int) -> JsonResponse:
    jobs.fail_stale_jobs()
    job = get_object_or_404(JobRun, pk=job_id)
    return JsonResponse(job_payload(job))
