"""Invented assignments: stored unconfirmed, never counted, and never more of them than a HIT's places allow."""

import pytest

from analytics.models import SelectionFrequency
from analytics.services import aggregate_selection_frequencies
from annotation.models import ContainsJudgment
from tasks.models import Assignment, Provider, Worker
from tests.factories import UserFactory, WorkerFactory
from tests.hitdata import judged
from tests.integrity import hit_image, mturk_visit, open_hit, page_config

pytestmark = pytest.mark.django_db
UNCONFIRMED = Assignment.Confirmation.UNCONFIRMED


def _submit_selected(client, hit, config: dict):
    body = {"token": config["token"], "selected": [hit_image(hit).pk]}
    return client.post(f"/hit/{hit.pk}/submit/", body, content_type="application/json")


def test_it_makes_a_new_assignment_unconfirmed_unless_its_creator_says_otherwise():
    hit = open_hit()
    assert Assignment.objects.create(hit=hit, worker=WorkerFactory()).confirmation == UNCONFIRMED


def test_it_keeps_invented_assignments_out_of_every_aggregate(client, settings):
    settings.RELABEL_HIT_OVERFILL_MARGIN = 2
    hit = open_hit(places=3)
    image = hit_image(hit)
    judged(hit, selected=set())  # one genuine, confirmed answer: not selected (0/1)
    answered = 0
    for n in range(20):
        page = client.get(f"/hit/{hit.pk}/", mturk_visit(f"FAKEASSIGNMENT{n:02d}", f"AFAKE{n:02d}"))
        if page.status_code == 200:
            answered += _submit_selected(client, hit, page_config(page.content.decode())).status_code == 200
    invented = Assignment.objects.filter(provider_assignment_id__startswith="FAKE")
    assert answered == invented.count() == 4  # 3 places + the margin of 2, less the genuine one, then refused
    assert set(invented.values_list("confirmation", flat=True)) == {UNCONFIRMED}
    assert ContainsJudgment.objects.filter(assignment__in=invented, selected=True).count() == 4  # kept
    aggregate_selection_frequencies(hit.batch.dataset)
    sf = SelectionFrequency.objects.get(image=image, label=hit.label)
    assert (sf.n_selected, sf.n_shown) == (0, 1)


def test_it_refuses_a_start_beyond_the_places_and_margin_and_stores_nothing(client, settings):
    settings.RELABEL_HIT_OVERFILL_MARGIN = 1
    hit = open_hit(places=2)
    for n in range(3):
        assert client.get(f"/hit/{hit.pk}/", mturk_visit(f"A{n}", f"W{n}")).status_code == 200
    before = (Worker.objects.count(), Assignment.objects.count())
    refused = client.get(f"/hit/{hit.pk}/", mturk_visit("A3", "W3"))
    assert refused.status_code == 409
    assert "already has all the answers it needs" in refused.content.decode()
    assert (Worker.objects.count(), Assignment.objects.count()) == before


def test_it_frees_the_place_of_an_abandoned_or_discarded_assignment(client, settings):
    settings.RELABEL_HIT_OVERFILL_MARGIN = 0
    hit = open_hit(places=2)
    judged(hit, set(), status=Assignment.Status.ABANDONED)
    discarded = judged(hit, set())
    Assignment.objects.filter(pk=discarded.pk).update(confirmation=Assignment.Confirmation.DISCARDED)
    for n in range(2):
        assert client.get(f"/hit/{hit.pk}/", mturk_visit(f"A{n}", f"W{n}")).status_code == 200
    assert client.get(f"/hit/{hit.pk}/", mturk_visit("A2", "W2")).status_code == 409


def test_it_refuses_a_made_up_assignment_on_a_link_study_hit(client):
    hit = open_hit(provider=Provider.LINK)
    refused = client.get(f"/hit/{hit.pk}/", mturk_visit("LMADEUP", "PMADEUP"))
    assert refused.status_code == 403 and "the link on your platform" in refused.content.decode()
    assert not Assignment.objects.exists() and not Worker.objects.exists()


def test_it_confirms_a_local_annotator_at_once(client):
    hit = open_hit(provider=Provider.LOCAL)
    client.force_login(UserFactory())
    page = client.get(f"/hit/{hit.pk}/")
    assert _submit_selected(client, hit, page_config(page.content.decode())).status_code == 200
    assignment = Assignment.objects.get()
    assert assignment.confirmation == Assignment.Confirmation.CONFIRMED and assignment.confirmed_at is not None
    aggregate_selection_frequencies(hit.batch.dataset)
    assert SelectionFrequency.objects.get(image=hit_image(hit)).n_selected == 1
