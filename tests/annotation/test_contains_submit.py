import json

import pytest
from django.core import signing

from annotation.models import ContainsJudgment
from tasks.models import Assignment, Provider
from tasks.signing import SALT, make_token
from tests.factories import AssignmentFactory, DatasetFactory, LabelClassFactory, UserFactory, WorkerFactory
from tests.hitdata import contains_hit, images

pytestmark = pytest.mark.django_db


@pytest.fixture
def grid():
    dataset = DatasetFactory()
    pictures = images(4, dataset=dataset)
    hit = contains_hit(LabelClassFactory(), pictures)
    assignment = AssignmentFactory(hit=hit, provider_assignment_id="ASSIGN1")
    return hit, pictures, assignment


def post(client, hit, body):
    return client.post(f"/hit/{hit.pk}/submit/", data=json.dumps(body), content_type="application/json")


def test_it_stores_one_judgment_per_image_and_submits_the_assignment(client, grid):
    hit, pictures, assignment = grid
    response = post(client, hit, {"token": make_token(assignment), "selected": [pictures[1].pk, pictures[3].pk]})
    assert response.status_code == 200, response.content
    stored = dict(ContainsJudgment.objects.filter(assignment=assignment).values_list("image_id", "selected"))
    assert stored == {pictures[0].pk: False, pictures[1].pk: True, pictures[2].pk: False, pictures[3].pk: True}
    assignment.refresh_from_db()
    assert assignment.status == Assignment.Status.SUBMITTED
    assert assignment.submitted_at is not None
    assert response.json() == {"status": "submitted", "assignment": assignment.pk, "stored": 4, "next": None}


def test_it_answers_a_replay_with_the_stored_result_and_changes_nothing(client, grid):
    hit, pictures, assignment = grid
    token = make_token(assignment)
    first = post(client, hit, {"token": token, "selected": [pictures[0].pk]})
    again = post(client, hit, {"token": token, "selected": [pictures[2].pk, pictures[3].pk]})
    assert again.status_code == 200
    assert again.json() == first.json()
    selected = ContainsJudgment.objects.filter(assignment=assignment, selected=True)
    assert list(selected.values_list("image_id", flat=True)) == [pictures[0].pk]
    assert assignment.transitions.count() == 1


@pytest.mark.parametrize("token", ["", "garbage", None, 17])
def test_it_refuses_a_missing_or_forged_token(client, grid, token):
    hit, pictures, _ = grid
    response = post(client, hit, {"token": token, "selected": [pictures[0].pk]})
    assert response.status_code == 403
    assert "detail" in response.json()
    assert not ContainsJudgment.objects.exists()


def test_it_refuses_a_token_signed_for_another_assignment_or_with_another_salt(client, grid):
    hit, pictures, assignment = grid
    other = AssignmentFactory(hit=contains_hit(hit.label, images(2, dataset=pictures[0].dataset)))
    wrong_hit = post(client, hit, {"token": make_token(other), "selected": []})
    forged = signing.dumps({"a": assignment.pk, "h": hit.pk, "w": assignment.worker_id}, salt="other")
    foreign_worker = signing.dumps({"a": assignment.pk, "h": hit.pk, "w": WorkerFactory().pk}, salt=SALT)
    assert wrong_hit.status_code == 403
    assert post(client, hit, {"token": forged, "selected": []}).status_code == 403
    assert post(client, hit, {"token": foreign_worker, "selected": []}).status_code == 403
    assert not ContainsJudgment.objects.exists()
    assignment.refresh_from_db()
    assert assignment.status == Assignment.Status.ACCEPTED


def test_it_refuses_an_image_that_is_not_in_the_hit(client, grid):
    hit, pictures, assignment = grid
    stranger = images(1, dataset=pictures[0].dataset)[0]
    response = post(client, hit, {"token": make_token(assignment), "selected": [pictures[0].pk, stranger.pk]})
    assert response.status_code == 400
    assert str(stranger.pk) in response.json()["detail"]
    assert not ContainsJudgment.objects.exists()


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[1, 2]", b'{"selected": "all"}', b'{"selected": [true]}', b'{"selected": ["1"]}'],
)
def test_it_refuses_malformed_bodies(client, grid, body):
    hit, _, assignment = grid
    if body.startswith(b'{"selected"'):
        body = b'{"token": "' + make_token(assignment).encode() + b'", ' + body[1:]
    response = client.post(f"/hit/{hit.pk}/submit/", data=body, content_type="application/json")
    assert response.status_code == 400
    assert "detail" in response.json()
    assert not ContainsJudgment.objects.exists()


def test_it_refuses_oversized_bodies_and_too_many_items(client, grid):
    hit, _, assignment = grid
    huge = {"token": make_token(assignment), "selected": [], "pad": "x" * 300_000}
    assert post(client, hit, huge).status_code in (400, 413)
    many = {"token": make_token(assignment), "selected": list(range(1001))}
    response = post(client, hit, many)
    assert response.status_code == 400
    assert "more than" in response.json()["detail"]
    assert not ContainsJudgment.objects.exists()


def test_it_needs_the_logged_in_annotator_for_a_local_hit(client):
    pictures = images(2)
    hit = contains_hit(LabelClassFactory(), pictures, provider=Provider.LOCAL)
    owner = UserFactory()
    worker = WorkerFactory(provider=Provider.LOCAL, external_id=owner.username, user=owner)
    assignment = AssignmentFactory(hit=hit, worker=worker)
    body = {"token": make_token(assignment), "selected": []}
    client.force_login(UserFactory())
    assert post(client, hit, body).status_code == 403
    client.force_login(owner)
    response = post(client, hit, body)
    assert response.status_code == 200
    assert response.json()["next"] == "/annotate/"


def test_it_accepts_only_post(client, grid):
    hit, _, _ = grid
    assert client.get(f"/hit/{hit.pk}/submit/").status_code == 405
