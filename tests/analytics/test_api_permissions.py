"""Every endpoint for every kind of caller: anonymous, annotator, staff, researcher, scoped token."""

import pytest
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from analytics.access import create_scoped_token, grant_read
from analytics.models import SelectionFrequency
from tests.analytics.demo_data import build_demo_like
from tests.factories import DatasetFactory, ImageFactory, LabelClassFactory, UserFactory, WorkerFactory

pytestmark = pytest.mark.django_db

LISTS = ["dataset", "class", "image", "prediction", "candidate", "selection-frequency", "classify-result",
         "contains-judgment", "classify-response", "worker"]
DATASET_SCOPED = [name for name in LISTS if name not in ("class",)]


@pytest.fixture
def datasets():
    readable = build_demo_like()
    other = DatasetFactory(name="other")
    image = ImageFactory(dataset=other, original_label=LabelClassFactory(index=0))
    SelectionFrequency.objects.create(image=image, label=image.original_label, n_selected=1, n_shown=2)
    return readable, other


def _urls(readable) -> list[str]:
    return [reverse(f"analytics:{name}-list") for name in LISTS] + [
        reverse("analytics:export", args=[readable.name, "sf", "jsonl"])
    ]


def _datasets_seen(client: APIClient) -> set[str]:
    names = {row["name"] for row in client.get(reverse("analytics:dataset-list")).json()["results"]}
    images = client.get(reverse("analytics:image-list"), {"page_size": 1000}).json()["results"]
    return names | {row["dataset"] for row in images}


def test_anonymous_callers_get_nothing(datasets):
    client = APIClient()
    for url in _urls(datasets[0]):
        assert client.get(url).status_code in (401, 403), url


def test_annotators_get_nothing(datasets):
    user = UserFactory(username="annotator")
    WorkerFactory(user=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    for url in _urls(datasets[0]):
        assert client.get(url).status_code == 403, url


def test_staff_read_every_dataset(datasets):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=UserFactory(is_staff=True)).key}")
    for url in _urls(datasets[0]):
        response = client.get(url)
        assert response.status_code == 200, url
    assert _datasets_seen(client) == {"demo-like", "other"}
    for name in LISTS:
        assert client.get(reverse(f"analytics:{name}-list")).json()["results"], name


def test_a_granted_researcher_reads_only_the_granted_dataset(datasets):
    readable, other = datasets
    user = UserFactory(username="researcher")
    grant_read(user, readable)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    assert _datasets_seen(client) == {"demo-like"}
    sf = client.get(reverse("analytics:selection-frequency-list"), {"dataset": "other"}).json()["results"]
    assert sf == []
    assert client.get(reverse("analytics:export", args=[other.name, "sf", "csv"])).status_code == 404
    assert client.get(reverse("analytics:export", args=[readable.name, "sf", "csv"])).status_code == 200


def test_a_scoped_token_reads_its_dataset_and_nothing_else(datasets):
    readable, other = datasets
    key = create_scoped_token(UserFactory(is_staff=True), readable, name="paper")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert _datasets_seen(client) == {"demo-like"}
    for name in DATASET_SCOPED:
        response = client.get(reverse(f"analytics:{name}-list"), {"page_size": 1000})
        assert response.status_code == 200
    detail = reverse("analytics:dataset-detail", args=[other.name])
    assert client.get(detail).status_code == 404
    assert client.get(reverse("analytics:export", args=[other.name, "sf", "jsonl"])).status_code == 404
    lines = b"".join(client.get(reverse("analytics:export", args=[readable.name, "sf", "jsonl"])).streaming_content)
    assert lines.count(b"\n") == SelectionFrequency.objects.filter(image__dataset=readable).count()


def test_a_scoped_token_of_a_user_without_access_reads_nothing(datasets):
    key = create_scoped_token(UserFactory(username="nobody"), datasets[0])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get(reverse("analytics:dataset-list")).status_code == 403


def test_a_wrong_token_is_refused(datasets):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-key")
    assert client.get(reverse("analytics:dataset-list")).status_code == 401
