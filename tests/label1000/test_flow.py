import json

import pytest
from django.core import signing
from django.core.management import call_command

from label1000.models import Label1000Response
from models_zoo.models import Prediction
from tasks.models import Assignment, Batch, Hit, Provider, TaskKind
from tasks.signing import SALT
from tests.factories import DatasetFactory, ImageFactory, LabelClassFactory, WorkerFactory

pytestmark = pytest.mark.django_db

MTURK = {"hitId": "H1", "workerId": "AW1", "assignmentId": "A1", "turkSubmitTo": "https://workersandbox.mturk.com"}


@pytest.fixture
def classes():
    return [LabelClassFactory(index=i) for i in range(8)]


@pytest.fixture
def dataset(classes):
    dataset = DatasetFactory(name="expert")
    for n in range(3):
        ImageFactory(dataset=dataset, original_label=classes[n], file=f"images/{n}.jpg")
    ImageFactory(dataset=dataset, original_label=classes[3])  # no file: not labeled
    return dataset


def create(*extra: str) -> Batch:
    call_command("create_hits", "--dataset", "expert", "--task", "label1000", "--per-hit", "2",
                 "--assignments", "1", "--provider", "sandbox", *extra)
    return Batch.objects.filter(kind=TaskKind.LABEL1000).latest("pk")


def published(batch: Batch) -> list[Hit]:
    batch.hits.update(status=Hit.Status.PUBLISHED)
    return list(batch.hits.order_by("pk"))


def open_page(client, hit: Hit, worker: str = "AW1", assignment: str = "A1"):
    response = client.get(f"/hit/{hit.pk}/", {**MTURK, "workerId": worker, "assignmentId": assignment})
    assert response.status_code == 200, response.content
    return response


def post(client, hit, body):
    return client.post(f"/hit/{hit.pk}/submit/", data=json.dumps(body), content_type="application/json")


def answers(hit: Hit, labels: list[int], seconds: float = 4.5) -> list[dict]:
    return [{"image": item.image_id, "labels": labels, "seconds": seconds} for item in hit.items.all()]


def test_it_creates_hits_of_the_images_with_files_once(dataset):
    batch = create()
    assert batch.dataset == dataset and batch.provider == Provider.MTURK_SANDBOX
    assert batch.hits.count() == 2
    assert sorted(n for hit in batch.hits.all() for n in [hit.items.count()]) == [1, 2]
    create()
    assert Batch.objects.filter(kind=TaskKind.LABEL1000).count() == 1


def test_it_goes_from_page_to_stored_response(client, dataset, classes):
    hit = published(create())[0]
    response = open_page(client, hit)
    config = response.context["config"]
    html = response.content.decode()
    assert config["kind"] == "label1000" and config["token"]
    assert 'id="l1k-classes-data"' in html and "label1000.js" in html
    assert [c["i"] for c in response.context["classes"]] == sorted(c.index for c in classes)
    assert [i["image"] for i in response.context["l1k_items"]] == list(
        hit.items.order_by("position").values_list("image_id", flat=True))
    reply = post(client, hit, {"token": config["token"], "answers": answers(hit, [5, 0, 7])})
    assert reply.status_code == 200, reply.content
    assert reply.json()["stored"] == 2
    stored = Label1000Response.objects.filter(assignment__hit=hit)
    assert [(r.labels, r.seconds_spent, r.practice) for r in stored] == [([5, 0, 7], 4.5, False)] * 2
    assert stored[0].assignment.status == Assignment.Status.SUBMITTED


def test_it_answers_a_replay_with_the_stored_result_and_changes_nothing(client, dataset):
    hit = published(create())[0]
    token = open_page(client, hit).context["config"]["token"]
    first = post(client, hit, {"token": token, "answers": answers(hit, [1])})
    again = post(client, hit, {"token": token, "answers": answers(hit, [2, 3])})
    assert again.status_code == 200 and again.json() == first.json()
    assert list(Label1000Response.objects.values_list("labels", flat=True)) == [[1]] * hit.items.count()
    assert Assignment.objects.get().transitions.count() == 1


def test_it_refuses_forged_and_foreign_tokens(client, dataset):
    hit, other = published(create())
    token = open_page(client, hit).context["config"]["token"]
    assignment = Assignment.objects.get(hit=hit)
    other_token = open_page(client, other, worker="AW2", assignment="A2").context["config"]["token"]
    forged = signing.dumps({"a": assignment.pk, "h": hit.pk, "w": assignment.worker_id}, salt="other")
    foreign_worker = signing.dumps({"a": assignment.pk, "h": hit.pk, "w": WorkerFactory().pk}, salt=SALT)
    for bad in ["", "garbage", None, forged, foreign_worker, other_token]:
        assert post(client, hit, {"token": bad, "answers": answers(hit, [1])}).status_code == 403
    assert not Label1000Response.objects.exists()
    assert post(client, hit, {"token": token, "answers": answers(hit, [1])}).status_code == 200


@pytest.mark.parametrize(("labels", "message"), [
    ([], "between 1 and 5"),
    ([0, 1, 2, 3, 4, 5], "between 1 and 5"),
    ([1, 1], "twice"),
    ([999], "not classes"),
    ([True], "class indices"),
    ("1", "class indices"),
])
def test_it_refuses_invalid_labels_and_stores_nothing(client, dataset, labels, message):
    hit = published(create())[0]
    assignment_token = open_page(client, hit).context["config"]["token"]
    response = post(client, hit, {"token": assignment_token, "answers": answers(hit, labels)})
    assert response.status_code == 400
    assert message in response.json()["detail"]
    assert not Label1000Response.objects.exists()
    assert Assignment.objects.get().status == Assignment.Status.ACCEPTED


def test_it_refuses_missing_foreign_duplicate_images_and_bad_seconds(client, dataset):
    hit, other = published(create())
    token = open_page(client, hit).context["config"]["token"]
    full = answers(hit, [1])
    stranger = {"image": other.items.first().image_id, "labels": [1]}
    for bad in [full[:1], [full[0], stranger], [full[0], full[0]], [{**full[0], "seconds": -1}, full[1]],
                [{**full[0], "seconds": "10"}, full[1]], [{**full[0], "seconds": 1e9}, full[1]], "all"]:
        assert post(client, hit, {"token": token, "answers": bad}).status_code == 400, bad
    assert not Label1000Response.objects.exists()


def test_it_gives_practice_batches_the_answer_and_model_prediction(client, dataset, classes):
    batch = create("--practice", "--prune-top-k", "2")
    hit = published(batch)[0]
    image = hit.items.order_by("position").first().image
    Prediction.objects.create(image=image, model_name="a", labels=[4, 6, 1], probs=[0.5, 0.3, 0.2])
    Prediction.objects.create(image=image, model_name="b", labels=[6, 1, 4], probs=[0.6, 0.3, 0.1])
    response = open_page(client, hit)
    first = response.context["l1k_items"][0]
    assert first["answer"] == image.original_label.index
    assert first["model"] == [[6, 0.45], [4, 0.3], [1, 0.25]]
    assert first["top"] == [4, 6]  # sums 0.6 and 0.9 beat 0.5; listed by index, not by score
    html = response.content.decode()
    assert "Show answer" in html
    # The instructions describe that rule (not "their top 2 each, together": that would be all three classes).
    assert "the 2 classes the models, together, found most likely for this image" in html
    token = response.context["config"]["token"]
    assert post(client, hit, {"token": token, "answers": answers(hit, [6])}).status_code == 200
    assert set(Label1000Response.objects.values_list("practice", flat=True)) == {True}


def test_it_keeps_answers_out_of_evaluation_pages(client, dataset):
    hit = published(create())[0]
    response = open_page(client, hit)
    assert all("answer" not in item and "model" not in item for item in response.context["l1k_items"])
    assert "Show answer" not in response.content.decode()


def test_it_shows_a_preview_without_a_token(client, dataset):
    hit = published(create())[0]
    response = client.get(f"/hit/{hit.pk}/")
    assert response.status_code == 200
    assert response.context["config"]["preview"] and response.context["config"]["token"] is None
