"""The dashboard's adaptive-redundancy section: decided / undecided images, judgments and money saved, top-up button."""

import pytest
from django.urls import reverse

from tasks.builders import ContainsOptions, build_contains_batch
from tasks.models import Batch, Provider, TaskKind
from tasks.simulators.annotators import simulate
from tasks.top_up import savings
from tests.analytics.demo_data import WORKERS, build_candidates, build_demo_like
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def dataset():
    """A first adaptive CONTAINS round (3 of at most 9) answered by simulated annotators."""
    dataset = build_candidates(n_images=12)
    build_contains_batch(dataset, ContainsOptions(grid=8, gold=0, assignments=3, provider=Provider.SIMULATED,
                                                  adaptive={"min_assignments": 3, "max_assignments": 9, "alpha": 0.05}))
    simulate(dataset.name, TaskKind.CONTAINS, workers=WORKERS, accuracy=0.8, noise=0.1)
    return dataset


def test_it_shows_decided_images_and_savings_and_tops_up_on_request(staff_client, dataset,
                                                                     django_capture_on_commit_callbacks):
    found = savings(dataset, TaskKind.CONTAINS)
    page = staff_client.get(reverse("analytics:dataset", args=[dataset.name])).content.decode()
    assert 'id="adaptive"' in page
    assert f"{found.plan.decided} / {found.plan.undecided} / 0" in page
    assert f"{found.judgments} / {found.fixed_judgments}" in page and f"${found.money_saved}" in page
    assert found.plan.undecided > 0

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(reverse("analytics:top-up", args=[dataset.name, TaskKind.CONTAINS]))

    assert response.status_code == 302 and response["Location"].endswith("#adaptive")
    assert Batch.objects.filter(options__adaptive__round=1).exists()
    assert savings(dataset, TaskKind.CONTAINS).plan.waiting == found.plan.undecided


def test_only_staff_may_top_up_and_only_contains_or_classify(staff_client, dataset):
    assert staff_client.get(reverse("analytics:top-up", args=[dataset.name, "contains"])).status_code == 405
    assert staff_client.post(reverse("analytics:top-up", args=[dataset.name, "label1000"])).status_code == 404
    staff_client.force_login(UserFactory(username="annotator"))
    assert staff_client.post(reverse("analytics:top-up", args=[dataset.name, "contains"])).status_code == 403
    assert not Batch.objects.filter(options__adaptive__round=1).exists()


def test_a_dataset_without_adaptive_batches_has_no_such_section(staff_client):
    dataset = build_demo_like()
    assert 'id="adaptive"' not in staff_client.get(reverse("analytics:dataset", args=[dataset.name])).content.decode()
