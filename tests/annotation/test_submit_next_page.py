"""A local submission sent with X-Relabel-Next-Page answers with the next HIT's page as well as its address: the
page a GET of that address would answer, that HIT's assignment started as such a GET starts it (the annotator's
page shows it at once). Nothing is rendered or started otherwise."""

import json
import re

import pytest

from annotation.models import Image
from tasks.models import Assignment, Batch, Provider
from tasks.signing import make_token
from tests.factories import AssignmentFactory, LabelClassFactory, UserFactory, WorkerFactory
from tests.hitdata import contains_hit, images

pytestmark = pytest.mark.django_db
ASK = {"HTTP_X_RELABEL_NEXT_PAGE": "1"}


@pytest.fixture
def annotator(client):
    owner = UserFactory(username="ann")
    client.force_login(owner)
    return WorkerFactory(provider=Provider.LOCAL, external_id="ann", user=owner)


def _submit(client, hit, worker, **headers) -> dict:
    body = {"token": make_token(AssignmentFactory(hit=hit, worker=worker)), "selected": []}
    response = client.post(f"/hit/{hit.pk}/submit/", json.dumps(body), content_type="application/json", **headers)
    assert response.status_code == 200
    return response.json()


def test_it_answers_with_the_next_hits_page_and_starts_its_assignment(client, annotator):
    label = LabelClassFactory()
    first, second = (contains_hit(label, images(2), provider=Provider.LOCAL) for _ in range(2))
    answer = _submit(client, first, annotator, **ASK)
    assert answer["next"] == f"/hit/{second.pk}/"
    started = Assignment.objects.get(hit=second, worker=annotator)
    assert started.status == Assignment.Status.ACCEPTED
    page = answer["nextPage"]
    config = json.loads(re.search(r'<script id="hit-config" type="application/json">(.*?)</script>', page).group(1))
    assert config["token"] == make_token(started) and config["submitUrl"] == f"/hit/{second.pk}/submit/"
    assert sorted(int(i) for i in re.findall(r'data-image="(\d+)"', page)) == sorted(
        second.items.values_list("image_id", flat=True))
    assert _unmasked(page) == _unmasked(client.get(answer["next"]).content.decode())  # a GET's page, same assignment


def test_it_submits_and_answers_with_the_next_page_in_25_queries_at_most(
    client, annotator, django_assert_max_num_queries
):
    label = LabelClassFactory()
    first, *_ = (contains_hit(label, images(3), provider=Provider.LOCAL) for _ in range(3))
    body = {"token": make_token(AssignmentFactory(hit=first, worker=annotator)), "selected": []}
    with django_assert_max_num_queries(25):  # 34, then 29 compiled by the ORM (twice the CPU of these)
        answer = client.post(f"/hit/{first.pk}/submit/", json.dumps(body), content_type="application/json", **ASK)
    assert "nextPage" in answer.json()


def _unmasked(page: str) -> str:
    """The page without its CSRF token, which Django masks afresh on every render."""
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", page)


def test_it_renders_and_starts_nothing_unless_asked(client, annotator):
    label = LabelClassFactory()
    first, second = (contains_hit(label, images(2), provider=Provider.LOCAL) for _ in range(2))
    answer = _submit(client, first, annotator)
    assert answer["next"] == f"/hit/{second.pk}/" and "nextPage" not in answer
    assert not Assignment.objects.filter(hit=second).exists()


def test_it_sends_no_page_when_nothing_is_left(client, annotator):
    only = contains_hit(LabelClassFactory(), images(2), provider=Provider.LOCAL)
    answer = _submit(client, only, annotator, **ASK)
    assert answer["next"] == "/annotate/" and "nextPage" not in answer


def test_it_sends_no_page_when_the_next_hit_refuses_the_start(client, annotator):
    label = LabelClassFactory()
    first, closed = (contains_hit(label, images(2), provider=Provider.LOCAL) for _ in range(2))
    Batch.objects.filter(pk=closed.batch_id).update(status=Batch.Status.EXPIRED)
    answer = _submit(client, first, annotator, **ASK)
    assert answer["next"] == f"/hit/{closed.pk}/" and "nextPage" not in answer  # the browser goes there: a 410 page
    assert not Assignment.objects.filter(hit=closed).exists()


def test_a_platform_submission_never_carries_a_page(client):
    label = LabelClassFactory()
    first, second = (contains_hit(label, images(2), provider=Provider.MTURK_SANDBOX) for _ in range(2))
    answer = _submit(client, first, WorkerFactory(), **ASK)
    assert answer["next"] is None and "nextPage" not in answer
    assert not Assignment.objects.filter(hit=second).exists()


def test_the_next_page_prefetches_what_a_get_of_it_would(client, annotator):
    label = LabelClassFactory()
    first, second, third = (contains_hit(label, images(2), provider=Provider.LOCAL) for _ in range(3))
    for hit in (second, third):
        Image.objects.filter(pk__in=hit.items.values("image_id")).update(thumbnail=f"thumbs/{hit.pk}.jpg")
    answer = _submit(client, first, annotator, **ASK)
    prefetched = json.loads(re.search(r'id="hit-prefetch" type="application/json">(.*?)</script>', answer["nextPage"])
                            .group(1))
    assert prefetched == [f"/media/thumbs/{third.pk}.jpg"] * 2  # the HIT after the next one, found in the same search
    assert _unmasked(answer["nextPage"]) == _unmasked(client.get(answer["next"]).content.decode())
