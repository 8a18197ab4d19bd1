"""Expired work: an assignment accepted before expiry submits until its own deadline, nothing after;
expired HITs (or past their lifetime) refuse new starts with a clear page."""

from datetime import timedelta

import pytest
from django.utils import timezone

from annotation.models import ContainsJudgment
from tasks.models import Assignment, Batch, Hit, Provider, Worker
from tasks.transitions import transition_hit
from tests.integrity import hit_image, mturk_visit, open_hit, page_config

pytestmark = pytest.mark.django_db


def _open(client, hit, assignment_id: str = "A1") -> dict:
    page = client.get(f"/hit/{hit.pk}/", mturk_visit(assignment_id, f"W{assignment_id}"))
    assert page.status_code == 200
    return page_config(page.content.decode())


def _expire(hit: Hit) -> None:
    """What the admin's Expire does here once the platform took the HIT down."""
    assert transition_hit(hit, Hit.Status.EXPIRED)
    Batch.objects.filter(pk=hit.batch_id).update(status=Batch.Status.EXPIRED)


def _submit(client, hit, config: dict):
    body = {"token": config["token"], "selected": [hit_image(hit).pk]}
    return client.post(f"/hit/{hit.pk}/submit/", body, content_type="application/json")


def test_it_takes_work_accepted_before_the_hit_expired_until_its_deadline(client):
    hit = open_hit()
    config = _open(client, hit)
    _expire(hit)
    assert _submit(client, hit, config).status_code == 200
    assert Assignment.objects.get().status == Assignment.Status.SUBMITTED


def test_it_refuses_a_submission_after_the_assignment_deadline_and_stores_nothing(client):
    hit = open_hit(options={"assignment_duration_seconds": 600})
    config = _open(client, hit)
    Assignment.objects.update(accepted_at=timezone.now() - timedelta(minutes=11))
    refused = _submit(client, hit, config)
    assert refused.status_code == 410 and "time ran out" in refused.json()["detail"]
    assert Assignment.objects.get().status == Assignment.Status.ACCEPTED
    assert not ContainsJudgment.objects.exists()


@pytest.mark.parametrize("expiry", ["hit", "batch"])
def test_an_expired_hit_refuses_new_starts_with_a_clear_page(client, expiry):
    hit = open_hit()
    if expiry == "hit":
        assert transition_hit(hit, Hit.Status.EXPIRED)
    else:
        Batch.objects.filter(pk=hit.batch_id).update(status=Batch.Status.EXPIRED)
    refused = client.get(f"/hit/{hit.pk}/", mturk_visit("A1", "W1"))
    assert refused.status_code == 410 and "has expired" in refused.content.decode()
    assert not Assignment.objects.exists() and not Worker.objects.exists()


def test_a_hit_past_its_lifetime_refuses_new_starts(client):
    hit = open_hit(options={"lifetime_seconds": 3600})
    Hit.objects.filter(pk=hit.pk).update(published_at=timezone.now() - timedelta(hours=2))
    refused = client.get(f"/hit/{hit.pk}/", mturk_visit("A1", "W1"))
    assert refused.status_code == 410 and "lifetime ended" in refused.content.decode()
    assert not Assignment.objects.exists()


def test_an_ended_link_study_refuses_new_starts(client):
    hit = open_hit(provider=Provider.LINK)
    Batch.objects.filter(pk=hit.batch_id).update(status=Batch.Status.EXPIRED)
    refused = client.get(f"/link/{hit.batch_id}/start/", {"PROLIFIC_PID": "P1"})
    assert refused.status_code == 410 and "has ended" in refused.content.decode()
    assert not Worker.objects.exists()
