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
