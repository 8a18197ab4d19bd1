import json

import pytest
from django.urls import reverse

from analytics import jobs, report
from analytics.models import JobRun
from annotation.models import Image
from tests.analytics.demo_data import build_demo_like
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def dataset():
    return build_demo_like()


def test_it_renders_every_chart_for_a_demo_like_dataset(staff_client, dataset):
    response = staff_client.get(reverse("analytics:dataset", args=[dataset.name]))
    assert response.status_code == 200
    html = response.content.decode()
    for key in report.BUILDERS:
        assert f'id="{key}"' in html
    assert html.count('class="vega-chart"') >= len(report.BUILDERS) + 3  # two models' confusion, two human-eval
    assert 'class="chart-empty"' not in html
    assert "(simulated)" in html
    assert f'href="{reverse("analytics:label1000", args=[dataset.name])}"' in html
    assert "http://" not in html.split("<main>")[1]


def test_it_lists_datasets_with_stage_progress(staff_client, dataset):
    html = staff_client.get(reverse("analytics:index")).content.decode()
    assert dataset.name in html and "18" in html


def test_it_exports_each_analysis_table_as_csv(staff_client, dataset):
    response = staff_client.get(reverse("analytics:analysis-csv", args=[dataset.name, "accuracy"]))
    lines = response.content.decode().splitlines()
    assert lines[0] == "model,metric,value,low,high,n"
    assert len(lines) == 1 + 2 * 4
    assert staff_client.get(reverse("analytics:analysis-csv", args=[dataset.name, "nope"])).status_code == 404


def test_it_drills_down_into_one_image(staff_client, dataset):
    image = Image.objects.filter(dataset=dataset, classify_result__isnull=False).first() or Image.objects.first()
    html = staff_client.get(reverse("analytics:image", args=[dataset.name, image.pk])).content.decode()
    assert "Selection frequency per candidate" in html
    assert "model_a" in html and "Nearest neighbours" in html
    assert "near-duplicate" in html  # images of one class have nearly identical features


def test_it_keeps_the_dashboard_for_staff(client, dataset):
    url = reverse("analytics:dataset", args=[dataset.name])
    assert client.get(url).status_code == 302
    client.force_login(UserFactory(username="annotator"))
    assert client.get(url).status_code == 403
    assert client.post(reverse("analytics:start-job", args=[dataset.name, "aggregate"])).status_code == 403


def test_it_launches_a_job_and_reports_its_progress(staff_client, dataset, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(reverse("analytics:start-job", args=[dataset.name, "aggregate"]),
                                     HTTP_ACCEPT="application/json")
    assert response.status_code == 202
    job = JobRun.objects.get(pk=response.json()["id"])
    status = json.loads(staff_client.get(reverse("analytics:job-status", args=[job.pk])).content)
    assert status["status"] == "done" and status["progress"] == 1.0
    assert "selection frequencies" in status["message"]
    assert staff_client.get(reverse("analytics:start-job", args=[dataset.name, "aggregate"])).status_code == 405


def test_it_requires_csrf_to_launch_a_job(dataset):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(UserFactory(username="staff2", is_staff=True))
    assert client.post(reverse("analytics:start-job", args=[dataset.name, "aggregate"])).status_code == 403
    assert not JobRun.objects.exists()


def test_it_runs_a_job_once_even_if_the_task_is_delivered_twice(dataset):
    job = JobRun.objects.create(dataset=dataset, kind=JobRun.Kind.AGGREGATE)
    assert jobs.execute(job.pk) is True
    assert jobs.execute(job.pk) is False


def test_it_records_a_failed_job(dataset):
    job = JobRun.objects.create(dataset=dataset, kind=JobRun.Kind.CANDIDATES)
    jobs.execute(job.pk)
    job.refresh_from_db()
    assert job.status == JobRun.Status.FAILED and "load_taxonomy" in job.message  # six classes, not 1000


def test_it_refuses_an_unknown_job(staff_client, dataset):
    response = staff_client.post(reverse("analytics:start-job", args=[dataset.name, "nope"]))
    assert response.status_code == 400


def test_it_names_co_occurring_classes_in_the_chart_and_table(staff_client, dataset):
    from annotation.models import LabelClass

    response = staff_client.get(reverse("analytics:analysis-csv", args=[dataset.name, "cooccurrence"]))
    header, first = response.content.decode().splitlines()[:2]
    assert header.endswith("name_a,name_b")
    a, b = (int(x) for x in first.split(",")[:2])
    names = dict(LabelClass.objects.filter(index__in=[a, b]).values_list("index", "name"))
    assert first.endswith(f"{names[a]},{names[b]}")
    html = staff_client.get(reverse("analytics:dataset", args=[dataset.name])).content.decode()
    assert f"{names[a]} + {names[b]}" in html


def test_it_names_the_classes_each_model_predicted(staff_client, dataset):
    from annotation.models import LabelClass
    from models_zoo.models import Prediction

    image = Image.objects.filter(dataset=dataset).first()
    html = staff_client.get(reverse("analytics:image", args=[dataset.name, image.pk])).content.decode()
    predictions = html.split("<h2>Model predictions</h2>")[1].split("<h2>")[0]
    names = dict(LabelClass.objects.values_list("index", "name"))
    for prediction in Prediction.objects.filter(image=image):
        for label, prob in zip(prediction.labels, prediction.probs, strict=True):
            assert f"{label} {names[label]}" in predictions and f"{prob:.3f}" in predictions
