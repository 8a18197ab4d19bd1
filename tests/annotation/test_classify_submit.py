import json

import pytest

from annotation.models import ClassifyResponse
from tasks.models import Assignment
from tasks.signing import make_token
from tests.factories import AssignmentFactory, DatasetFactory, LabelClassFactory
from tests.hitdata import classify_hit, images

pytestmark = pytest.mark.django_db


@pytest.fixture
def hit():
    for index in (10, 11, 12, 13):
        LabelClassFactory(index=index)
    first, second = images(2, dataset=DatasetFactory())
    hit = classify_hit({first: [10, 11, 12], second: [12, 13]})
    return hit, first, second, AssignmentFactory(hit=hit)


def post(client, hit, assignment, answers):
    body = json.dumps({"token": make_token(assignment), "answers": answers})
    return client.post(f"/hit/{hit.pk}/submit/", body, content_type="application/json")


def test_it_stores_one_response_per_image(client, hit):
    hit, first, second, assignment = hit
    response = post(client, hit, assignment, [
        {"image": first.pk, "selected": [11, 10], "main": 11},
        {"image": second.pk, "selected": [13], "main": 13},
    ])
    assert response.status_code == 200, response.content
    stored = {r.image_id: (r.selected, r.main_label.index) for r in ClassifyResponse.objects.all()}
    assert stored == {first.pk: ([10, 11], 11), second.pk: ([13], 13)}
    assignment.refresh_from_db()
    assert assignment.status == Assignment.Status.SUBMITTED
    again = post(client, hit, assignment, [
        {"image": first.pk, "selected": [12], "main": 12}, {"image": second.pk, "selected": [12], "main": 12},
    ])
    assert again.status_code == 200 and again.json() == response.json()
    assert ClassifyResponse.objects.count() == 2


@pytest.mark.parametrize(
    ("first_answer", "message"),
    [
        ({"selected": [10, 11], "main": 12}, "must be one of the selected labels"),
        ({"selected": [10, 13], "main": 10}, "labels [13] were not offered"),
        ({"selected": [], "main": 10}, "select at least one valid label"),
        ({"selected": [10], "main": True}, "must be one of the selected labels"),
        ({"selected": "10", "main": 10}, "must be a list of integers"),
    ],
)
def test_it_refuses_inconsistent_answers_and_stores_nothing(client, hit, first_answer, message):
    hit, first, second, assignment = hit
    response = post(client, hit, assignment, [
        {"image": first.pk, **first_answer}, {"image": second.pk, "selected": [12], "main": 12},
    ])
    assert response.status_code == 400
    assert message in response.json()["detail"]
    assert not ClassifyResponse.objects.exists()
    assignment.refresh_from_db()
    assert assignment.status == Assignment.Status.ACCEPTED


def test_it_needs_exactly_one_answer_per_image_of_the_hit(client, hit):
    hit, first, _, assignment = hit
    answer = {"image": first.pk, "selected": [10], "main": 10}
    assert "have no answer" in post(client, hit, assignment, [answer]).json()["detail"]
    assert "answered twice" in post(client, hit, assignment, [answer, answer]).json()["detail"]
    stranger = images(1)[0]
    response = post(client, hit, assignment, [answer, {"image": stranger.pk, "selected": [12], "main": 12}])
    assert response.status_code == 400 and "not in this HIT" in response.json()["detail"]
    assert not ClassifyResponse.objects.exists()


def test_it_refuses_a_token_of_another_assignment(client, hit):
    hit, first, _, _ = hit
    other = AssignmentFactory(hit=classify_hit({images(1)[0]: [10, 11]}))
    response = post(client, hit, other, [{"image": first.pk, "selected": [10], "main": 10}])
    assert response.status_code == 403
    assert not ClassifyResponse.objects.exists()
