"""The dashboard counts a local HIT with all its counted answers as done, though no platform closes it."""

import pytest

from analytics.views import stage_progress
from tasks.models import Assignment, Hit, Provider, TaskKind
from tests.factories import AssignmentFactory, BatchFactory, HitFactory, WorkerFactory

pytestmark = pytest.mark.django_db


def _answers(hit: Hit, n: int, **fields) -> None:
    for _ in range(n):
        AssignmentFactory(hit=hit, worker=WorkerFactory(), status=Assignment.Status.SUBMITTED,
                          confirmation=Assignment.Confirmation.CONFIRMED, **fields)


def test_it_counts_fully_answered_local_hits_as_done():
    batch = BatchFactory(kind=TaskKind.CONTAINS, provider=Provider.LOCAL, assignments_per_hit=2)
    full, half, flagged = (HitFactory(batch=batch, status=Hit.Status.PUBLISHED) for _ in range(3))
    _answers(full, 2)
    _answers(half, 1)
    _answers(flagged, 1)
    _answers(flagged, 1, flagged=True)  # not counted: the HIT still needs an answer
    HitFactory(batch=batch, status=Hit.Status.COMPLETE)
    progress = stage_progress(batch.dataset)["contains"]
    assert progress == {"total": 4, "published": 4, "done": 2}


def test_it_counts_the_1000_way_hits_too(client):
    """The demo publishes a local 1000-way batch: the index and the dataset page show how far it got."""
    from django.urls import reverse

    from tests.factories import UserFactory

    batch = BatchFactory(kind=TaskKind.LABEL1000, provider=Provider.LOCAL, assignments_per_hit=1)
    answered, _unanswered = (HitFactory(batch=batch, status=Hit.Status.PUBLISHED) for _ in range(2))
    _answers(answered, 1)
    assert stage_progress(batch.dataset)["label1000"] == {"total": 2, "published": 2, "done": 1}
    client.force_login(UserFactory(is_staff=True))
    index = client.get(reverse("analytics:index")).content.decode()
    assert "1000-way HITs (published/done/all)" in index and "<td>2/1/2</td>" in index
    page = client.get(reverse("analytics:dataset", args=[batch.dataset.name])).content.decode()
    assert "1000-way HITs published / done / all" in page
