"""The demo leaves a small published local batch of each kind for its annotator, so /annotate/ has work."""

import io

import pytest

from annotation.models import Image
from demo.pipeline import LOCAL_BATCH, publish_local_batches
from tasks.models import Batch, Hit, Provider, TaskKind
from tests.analytics.demo_data import build_demo_like
from tests.e2e.browser.helpers import attach_files
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def dataset():
    dataset = build_demo_like()
    for index, image in enumerate(Image.objects.filter(dataset=dataset).order_by("pk")):
        attach_files(image, index)
    return dataset


def test_it_publishes_one_small_local_batch_per_kind_once(dataset, client):
    said = []
    first = publish_local_batches(dataset, said.append)
    assert set(first) == {TaskKind.CONTAINS, TaskKind.CLASSIFY, TaskKind.LABEL1000}
    assert all(n >= 1 for n in first.values())
    batches = Batch.objects.filter(name=LOCAL_BATCH)
    assert {b.provider for b in batches} == {Provider.LOCAL} and {b.assignments_per_hit for b in batches} == {1}
    assert set(Hit.objects.filter(batch__in=batches).values_list("status", flat=True)) == {Hit.Status.PUBLISHED}
    assert publish_local_batches(dataset, io.StringIO().write) == first  # a re-run adds nothing
    assert Batch.objects.filter(name=LOCAL_BATCH).count() == 3
    assert len(said) == 3 and all("for the demo annotator: batch" in line for line in said)

    client.force_login(UserFactory(username="annotator"))
    response = client.get("/annotate/")
    assert response.status_code == 302 and response["Location"].startswith("/hit/")
