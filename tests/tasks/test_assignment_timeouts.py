"""Accepted assignments past their deadline are abandoned by a periodic task, and their places free up."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from tasks.models import Assignment, Provider
from tasks.tasks import abandon_overdue_assignments
from tasks.timeouts import abandon_overdue
from tests.factories import AssignmentFactory, UserFactory
from tests.integrity import open_hit

pytestmark = pytest.mark.django_db
Status = Assignment.Status


def _accepted(hit, ago: timedelta, status: str = Status.ACCEPTED) -> Assignment:
    assignment = AssignmentFactory(hit=hit, status=status)
    Assignment.objects.filter(pk=assignment.pk).update(accepted_at=timezone.now() - ago)
    return assignment


def _status(assignment: Assignment) -> str:
    return Assignment.objects.get(pk=assignment.pk).status


def test_it_abandons_accepted_work_past_the_batch_duration_only():
    default = open_hit()  # 3600 s
    short = open_hit(options={"assignment_duration_seconds": 600})
    overdue = _accepted(default, timedelta(hours=2))
    in_time = _accepted(default, timedelta(minutes=50))
    overdue_short = _accepted(short, timedelta(minutes=11))
    submitted = _accepted(short, timedelta(hours=5), status=Status.SUBMITTED)
    assert abandon_overdue() == 2
    assert [_status(a) for a in (overdue, in_time, overdue_short, submitted)] == [
        Status.ABANDONED, Status.ACCEPTED, Status.ABANDONED, Status.SUBMITTED]
    assert overdue.transitions.get().note.startswith("deadline passed")
    assert abandon_overdue() == 0


def test_the_beat_schedule_runs_the_periodic_task():
    entry = settings.CELERY_BEAT_SCHEDULE["abandon-overdue-assignments"]
    assert entry["task"] == abandon_overdue_assignments.name
    overdue = _accepted(open_hit(), timedelta(hours=2))
    abandon_overdue_assignments.delay()
    assert _status(overdue) == Status.ABANDONED


def test_an_abandoned_assignment_frees_its_place(client):
    hit = open_hit(provider=Provider.LOCAL, places=1)
    _accepted(hit, timedelta(hours=2))
    client.force_login(UserFactory())
    assert client.get(f"/hit/{hit.pk}/").status_code == 409
    abandon_overdue()
    assert client.get(f"/hit/{hit.pk}/").status_code == 200
