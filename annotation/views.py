"""Annotator pages: the HIT page (CONTAINS grid, CLASSIFY form), its submit endpoint, /annotate/.

Images are served by annotation.media (MEDIA_URL, safe types only).
"""

from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from annotation.hit_pages import (
    FIRST_SCREEN_TILES,
    NextHit,
    Visit,
    VisitError,
    allowed_worker_origins,
    local_progress,
    next_local_hit,
    resolve_visit,
    start_local_assignment,
    upcoming_thumbnails,
)
from annotation.media import media_url
from annotation.models import LabelClass
from annotation.submission import MAX_BODY_BYTES, SubmissionError, parse_body, submit
from label1000.views import TEMPLATE as LABEL1000_TEMPLATE
from label1000.views import label1000_context
from tasks.models import Batch, Hit, TaskKind
from tasks.signing import make_token
from tasks.starts import client_address


def _hit_csp(submit_url: str | None) -> str:
    """Framing by MTurk's worker sites only, and nothing loaded from elsewhere."""
    origins = " ".join(allowed_worker_origins())
    form_action = "'self'" + (f" {submit_url.rsplit('/mturk/', 1)[0]}" if submit_url else "")
    return (
        "default-src 'self'; img-src 'self'; script-src 'self'; style-src 'self'; object-src 'none'; "
        f"base-uri 'none'; form-action {form_action}; frame-ancestors 'self' {origins}"
    )


def _error_page(request: HttpRequest, detail: str, status: int) -> HttpResponse:
    return render(request, "annotation/hit_error.html", {"detail": detail}, status=status)


@require_GET
@xframe_options_exempt
def hit_page(request: HttpRequest, hit_id: int) -> HttpResponse:
    """The HIT for a worker, or a read-only preview (see annotation.hit_pages for who gets what)."""
    return _hit_response(request, get_object_or_404(Hit.objects.select_related("batch", "label"), pk=hit_id))


PAGE_KINDS = (TaskKind.CONTAINS, TaskKind.CLASSIFY, TaskKind.LABEL1000)


def _hit_response(request: HttpRequest, hit: Hit) -> HttpResponse:
    """The page of `hit` for this request's visitor, starting their assignment where a visit does."""
    if hit.batch.kind not in PAGE_KINDS:
        raise Http404("no page for this kind of HIT")
    try:
        visit = resolve_visit(hit, request.GET.dict(), request.user, client_address(request.META))
    except VisitError as exc:
        response = _error_page(request, exc.detail, exc.status)
        response["Content-Security-Policy"] = _hit_csp(None)
        if exc.retry_after:
            response["Retry-After"] = str(exc.retry_after)
        return response
    if visit.preview and hit.status != Hit.Status.PUBLISHED and not request.user.is_staff:
        raise Http404("this HIT is not published")
    return _hit_page(request, hit, visit)


def _hit_page(request: HttpRequest, hit: Hit, visit: Visit, after: int | None = None) -> HttpResponse:
    """The HIT's page for `visit`; `after` is the HIT a local annotator likely gets next, when known."""
    assignment = visit.assignment
    config = {
        "kind": hit.batch.kind,
        "preview": visit.preview,
        "token": make_token(assignment) if assignment else None,
        "submitUrl": reverse("annotation:hit-submit", args=[hit.pk]),
        "mturkSubmitUrl": visit.mturk_submit_url,
        "assignmentId": assignment.provider_assignment_id if assignment else None,
        "submitted": bool(assignment and assignment.status != assignment.Status.ACCEPTED),
    }
    context = {"hit": hit, "batch": hit.batch, "config": config, "preview": visit.preview}
    if assignment and hit.batch.provider == "local":
        context["progress"] = local_progress(assignment)
        context["prefetch"] = [media_url(path) for path in upcoming_thumbnails(assignment, after)]
    if hit.batch.kind == TaskKind.CLASSIFY:
        context["classify_items"] = _classify_items(_tiles(hit))
        template = "annotation/hit_classify.html"
    elif hit.batch.kind == TaskKind.LABEL1000:
        context.update(label1000_context(hit, list(hit.items.select_related("image").order_by("position"))))
        template = LABEL1000_TEMPLATE
    else:
        context["label"] = hit.label
        context["tiles"] = _tiles(hit)
        context["first_screen_tiles"] = FIRST_SCREEN_TILES
        template = "annotation/hit_contains.html"
    response = render(request, template, context)
    response["Content-Security-Policy"] = _hit_csp(visit.mturk_submit_url)
    response["Cache-Control"] = "no-store"
    return response


@dataclass(frozen=True)
class Tile:
    """One image of a CONTAINS or CLASSIFY page: what the template shows it by, nothing more."""

    image_id: int
    thumbnail_url: str
    full_url: str
    labels: list[int]


def _tiles(hit: Hit) -> list[Tile]:
    """The HIT's images in order, from one query without model instances (a CONTAINS page shows 48)."""
    rows = hit.items.order_by("position").values_list("image_id", "image__thumbnail", "image__file", "labels")
    tiles = []
    for image_id, thumbnail, file, labels in rows:
        thumbnail_url = media_url(thumbnail) if thumbnail else ""
        tiles.append(Tile(image_id, thumbnail_url, media_url(file) if file else thumbnail_url, labels))
    return tiles


def _classify_items(tiles: list[Tile]) -> list[dict]:
    indices = {index for tile in tiles for index in tile.labels}
    labels = {label.index: label for label in LabelClass.objects.filter(index__in=indices)}
    return [{"tile": tile, "labels": [labels[i] for i in tile.labels if i in labels]} for tile in tiles]


# Sent by a HIT page that can show the next HIT in place (static/js/hit.js): the answer then carries that page.
NEXT_PAGE_HEADER = "X-Relabel-Next-Page"


@csrf_exempt  # The signed per-assignment token in the body replaces the CSRF cookie (MTurk iframe).
@require_POST
def hit_submit(request: HttpRequest, hit_id: int) -> JsonResponse:
    """Store a submission (JSON body with the assignment token); 4xx JSON {"detail"} when refused.

    With NEXT_PAGE_HEADER, a local annotator's answer also carries `nextPage`, the page of the HIT that `next`
    names, as GET `next` would answer it: the page replaces its HIT with it, one request instead of two.
    """
    try:
        if int(request.META.get("CONTENT_LENGTH") or 0) > MAX_BODY_BYTES:
            raise SubmissionError(f"the submission is larger than {MAX_BODY_BYTES} bytes", status=413)
        result = submit(hit_id, parse_body(request.body), request.user.pk if request.user.is_authenticated else None)
    except SubmissionError as exc:
        return JsonResponse({"detail": exc.detail}, status=exc.status)
    except (RequestDataTooBig, ValueError):
        return JsonResponse({"detail": "the submission is too large or malformed"}, status=400)
    body = result.body
    if request.headers.get(NEXT_PAGE_HEADER) == "1" and result.following is not None:
        page = _next_page(request, result.following)
        if page is not None:
            body["nextPage"] = page
    return JsonResponse(body)


def _next_page(request: HttpRequest, following: NextHit) -> str | None:
    """The page a GET of the next HIT's address would answer, its assignment started now (the page shows it at
    once), from what the submission found already; None where that GET would answer anything else."""
    hit = following.hit
    if hit.batch.kind not in PAGE_KINDS or request.user.is_staff:
        return None
    try:
        assignment = following.started or start_local_assignment(
            hit, following.worker, client_address(request.META), repeats_checked=True
        )
    except VisitError:
        return None
    return _hit_page(request, hit, Visit(assignment), following.after).content.decode()


@login_required
def annotate(request: HttpRequest) -> HttpResponse:
    """Send a local annotator to their next HIT, or say that there is nothing left."""
    if request.user.is_staff:
        return render(request, "annotation/annotate_done.html", {"staff": True})
    try:
        hit = next_local_hit(request.user)
    except VisitError as exc:
        return _error_page(request, exc.detail, exc.status)
    if hit is None:
        return render(request, "annotation/annotate_done.html", {"staff": False})
    return redirect("annotation:hit", hit_id=hit.pk)


def batch_preview(request: HttpRequest, batch_id: int) -> HttpResponse:
    """Staff: the first HIT of a batch, as a worker would see it."""
    batch = get_object_or_404(Batch, pk=batch_id)
    if not request.user.is_staff:
        raise Http404("no such batch")
    first = batch.hits.order_by("id").first()
    if first is None:
        raise Http404("this batch has no HIT")
    return redirect("annotation:hit", hit_id=first.pk)
