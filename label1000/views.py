"""The 1000-way labeling page's context (rendered by the HIT page view) and its example images."""

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.views.decorators.http import require_GET

from annotation.models import Image, LabelClass
from label1000.exemplars import NoExemplar, exemplar_bytes, exemplar_counts
from label1000.services import class_list, is_practice, item_list, prune_top_k
from tasks.models import Hit, HitItem, TaskKind

TEMPLATE = "label1000/hit.html"


def _image_url(image: Image) -> str:
    field = image.file or image.thumbnail
    return field.url if field else ""


def label1000_context(hit: Hit, items: list[HitItem]) -> dict:
    """Template context of a label1000 HIT: the class list (hierarchy order) and the images."""
    batch = hit.batch
    classes = class_list(LabelClass.objects.all(), exemplar_counts(batch.dataset))
    return {
        "classes": classes,
        "l1k_items": item_list(batch, [item for item in items if item.image_id], _image_url),
        "l1k_options": {
            "practice": is_practice(batch),
            "pruneTopK": prune_top_k(batch),
            "exemplarUrl": reverse("annotation:label1000-exemplar", args=[hit.pk, "WNID", 0]),
        },
        "practice": is_practice(batch),
        "prune_top_k": prune_top_k(batch),
    }


@require_GET
def exemplar(request: HttpRequest, hit_id: int, wnid: str, position: int) -> HttpResponse:
    """Example image `position` of class `wnid` for a published label1000 HIT (any HIT for staff)."""
    hit = get_object_or_404(Hit.objects.select_related("batch__dataset"), pk=hit_id, batch__kind=TaskKind.LABEL1000)
    if hit.status != Hit.Status.PUBLISHED and not request.user.is_staff:
        raise Http404("this HIT is not published")
    try:
        data = exemplar_bytes(hit.batch.dataset, wnid, position)
    except NoExemplar as exc:
        raise Http404("no such example image") from exc
    response = HttpResponse(data, content_type="image/jpeg")
    response["Cache-Control"] = "private, max-age=86400"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
