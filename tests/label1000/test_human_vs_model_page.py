import pytest

from label1000.models import ErrorTag, Label1000Response
from models_zoo.models import Prediction
from tasks.models import Assignment, HitItem, TaskKind
from tests.factories import (
    AssignmentFactory,
    BatchFactory,
    DatasetFactory,
    HitFactory,
    ImageFactory,
    LabelClassFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def study():
    dataset = DatasetFactory(name="study")
    classes = [LabelClassFactory(index=i, name=f"class-{i}") for i in range(3)]
    pictures = [ImageFactory(dataset=dataset, original_label=c) for c in classes]
    hit = HitFactory(batch=BatchFactory(dataset=dataset, kind=TaskKind.LABEL1000))
    HitItem.objects.bulk_create([HitItem(hit=hit, image=p, position=n) for n, p in enumerate(pictures)])
    done = AssignmentFactory(hit=hit, status=Assignment.Status.SUBMITTED)
    answers = {pictures[0]: [0], pictures[1]: [2], pictures[2]: [1, 2]}
    responses = [Label1000Response.objects.create(assignment=done, image=p, labels=a) for p, a in answers.items()]
    practice = AssignmentFactory(hit=hit, status=Assignment.Status.SUBMITTED)
    Label1000Response.objects.create(assignment=practice, image=pictures[0], labels=[2], practice=True)
    for picture, labels in zip(pictures, [[1], [1], [2]], strict=True):
        Prediction.objects.create(image=picture, model_name="net", labels=labels, probs=[0.9])
    return dataset, pictures, responses


@pytest.fixture
def staff(client):
    client.force_login(UserFactory(is_staff=True))
    return client


def tag(client, **data):
    return client.post("/dashboard/study/label1000/tag/", data)


def test_it_is_for_staff_only(client, study):
    assert client.get("/dashboard/study/label1000/").status_code == 302
    client.force_login(UserFactory())
    assert client.get("/dashboard/study/label1000/").status_code == 403
    assert tag(client, source="net", image=study[1][0].pk, types=["other"]).status_code == 403
    assert not ErrorTag.objects.exists()


def test_it_compares_human_and_model_errors_excluding_practice(staff, study):
    response = staff.get("/dashboard/study/label1000/")
    assert response.status_code == 200
    [comparison] = response.context["comparisons"]
    assert comparison.n_human_trials == 3
    assert comparison.top1.human.value == pytest.approx(2 / 3) and comparison.top5.human.value == pytest.approx(1 / 3)
    assert comparison.top1.model.value == pytest.approx(1 / 3) and comparison.top5.model.value == pytest.approx(1 / 3)
    assert response.context["n_errors"] == 2
    html = response.content.decode()
    assert html.count('class="vega-chart"') == 2 and 'class="chart-empty"' in html and "p (model worse)" in html


def test_it_records_error_types_and_shows_the_breakdown_side_by_side(staff, study):
    _, pictures, responses = study
    human_error = {"source": "human", "image": pictures[1].pk, "response": responses[1].pk}
    assert tag(staff, **human_error, types=["fine_grained", "multiple_objects"]).status_code == 302
    assert tag(staff, **human_error, types=["fine_grained"]).status_code == 302
    assert tag(staff, source="net", image=pictures[0].pk, types=["small_or_thin"]).status_code == 302
    assert sorted(ErrorTag.objects.values_list("model_name", "error_type")) == [
        ("", "fine_grained"), ("net", "small_or_thin")]
    breakdown = staff.get("/dashboard/study/label1000/").context["breakdown"]
    assert breakdown.sources == ["human", "net"]
    assert breakdown.counts["fine_grained"] == {"human": 1, "net": 0}
    assert breakdown.counts["small_or_thin"] == {"human": 0, "net": 1}
    assert breakdown.n_reviewed == {"human": 1, "net": 1}


def test_it_refuses_unknown_types_and_answers_of_other_datasets(staff, study):
    _, pictures, responses = study
    assert tag(staff, source="net", image=pictures[0].pk, types=["typo"]).status_code == 400
    assert tag(staff, source="other-model", image=pictures[0].pk, types=["other"]).status_code == 400
    stranger = ImageFactory()
    assert tag(staff, source="human", image=stranger.pk, response=responses[0].pk, types=["other"]).status_code == 400
    assert tag(staff, source="human", image="x", types=["other"]).status_code == 400
    assert not ErrorTag.objects.exists()
