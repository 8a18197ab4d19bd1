"""Starts are rate-limited per client address and per worker id; a local account holds a bounded share."""

import pytest
from django.test import Client

from tasks.models import Assignment, Provider, Worker
from tasks.starts import client_address
from tests.factories import UserFactory
from tests.integrity import mturk_visit, open_hit, page_config

pytestmark = pytest.mark.django_db


def _stored() -> tuple[int, int]:
    return Worker.objects.count(), Assignment.objects.count()


def test_it_answers_429_after_too_many_starts_from_one_address(client, settings):
    settings.RELABEL_STARTS_PER_CLIENT = 3
    hit = open_hit(places=50)
    for n in range(3):
        assert client.get(f"/hit/{hit.pk}/", mturk_visit(f"A{n}", f"W{n}")).status_code == 200
    before = _stored()
    refused = client.get(f"/hit/{hit.pk}/", mturk_visit("A3", "W3"))
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert "too many new assignments started from this address" in refused.content.decode()
    assert _stored() == before
    assert client.get(f"/hit/{hit.pk}/", mturk_visit("A0", "W0")).status_code == 200  # reloads are not starts
    assert client.get(f"/hit/{hit.pk}/", mturk_visit("A4", "W4"), REMOTE_ADDR="198.51.100.7").status_code == 200


def test_it_answers_429_after_too_many_starts_by_one_worker_id(client, settings):
    settings.RELABEL_STARTS_PER_WORKER = 2
    hits = [open_hit() for _ in range(3)]
    for n, hit in enumerate(hits[:2]):
        page = client.get(f"/hit/{hit.pk}/", mturk_visit(f"A{n}", "WSAME"), REMOTE_ADDR=f"198.51.100.{n}")
        assert page.status_code == 200
    refused = client.get(f"/hit/{hits[2].pk}/", mturk_visit("A2", "WSAME"), REMOTE_ADDR="198.51.100.9")
    assert refused.status_code == 429 and "this worker id" in refused.content.decode()


def test_it_rate_limits_link_study_starts(client, settings):
    settings.RELABEL_STARTS_PER_CLIENT = 2
    hit = open_hit(provider=Provider.LINK, places=10)
    for participant in ("P1", "P2"):
        assert client.get(f"/link/{hit.batch_id}/start/", {"PROLIFIC_PID": participant}).status_code == 302
    refused = client.get(f"/link/{hit.batch_id}/start/", {"PROLIFIC_PID": "P3"})
    assert refused.status_code == 429 and "Retry-After" in refused
    assert not Worker.objects.filter(external_id="P3").exists()


def test_it_trusts_only_the_address_the_proxy_appended(settings):
    meta = {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": "1.2.3.4, 203.0.113.5"}
    settings.RELABEL_TRUSTED_PROXY_COUNT = 1
    assert client_address(meta) == "203.0.113.5"
    settings.RELABEL_TRUSTED_PROXY_COUNT = 2  # an outer proxy appended 1.2.3.4, the inner one 203.0.113.5
    assert client_address(meta) == "1.2.3.4"
    settings.RELABEL_TRUSTED_PROXY_COUNT = 3  # fewer entries than proxies: the header is not ours
    assert client_address(meta) == "10.0.0.1"
    settings.RELABEL_TRUSTED_PROXY_COUNT = 0
    assert client_address(meta) == "10.0.0.1"


def test_a_local_account_holds_a_bounded_number_of_open_assignments(client, settings):
    settings.RELABEL_LOCAL_MAX_OPEN_ASSIGNMENTS = 1
    first, second = open_hit(provider=Provider.LOCAL), open_hit(provider=Provider.LOCAL)
    client.force_login(UserFactory())
    page = client.get(f"/hit/{first.pk}/")
    refused = client.get(f"/hit/{second.pk}/")
    assert refused.status_code == 409 and "unfinished" in refused.content.decode()
    assert Assignment.objects.count() == 1
    body = {"token": page_config(page.content.decode())["token"], "selected": []}
    assert client.post(f"/hit/{first.pk}/submit/", body, content_type="application/json").status_code == 200
    assert client.get(f"/hit/{second.pk}/").status_code == 200


def test_local_accounts_behind_one_address_are_not_throttled(settings):
    settings.RELABEL_STARTS_PER_CLIENT = settings.RELABEL_STARTS_PER_WORKER = 1
    hits = [open_hit(provider=Provider.LOCAL) for _ in range(3)]
    for user in (UserFactory(), UserFactory()):
        annotator = Client()
        annotator.force_login(user)
        assert [annotator.get(f"/hit/{hit.pk}/").status_code for hit in hits] == [200, 200, 200]
