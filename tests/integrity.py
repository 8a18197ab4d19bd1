"""Builders shared by the tests of who may start, submit and count work (issue 19, items 1-3)."""

import json
import re

from django.utils import timezone

from annotation.models import Image
from tasks.models import Hit, Provider
from tests.factories import BatchFactory, HitFactory, HitItemFactory, ImageFactory, LabelClassFactory

CONFIG = re.compile(r'<script id="hit-config" type="application/json">(.*?)</script>', re.S)


def page_config(html: str) -> dict:
    """The data a HIT page hands to its script (token, assignment id, ...)."""
    match = CONFIG.search(html)
    assert match, html[:500]
    return json.loads(match.group(1))


def open_hit(provider: str = Provider.MTURK_SANDBOX, places: int = 3, **batch_fields) -> Hit:
    """A published CONTAINS HIT of one image (its original label) with `places` assignments."""
    label = LabelClassFactory()
    batch = BatchFactory(provider=provider, assignments_per_hit=places, status="published", **batch_fields)
    hit = HitFactory(batch=batch, label=label, status=Hit.Status.PUBLISHED, published_at=timezone.now())
    HitItemFactory(hit=hit, image=ImageFactory(dataset=batch.dataset, original_label=label), position=0)
    return hit


def hit_image(hit: Hit) -> Image:
    return hit.items.get().image


def mturk_visit(assignment_id: str, worker_id: str) -> dict[str, str]:
    return {"assignmentId": assignment_id, "workerId": worker_id, "turkSubmitTo": "https://www.mturk.com"}
