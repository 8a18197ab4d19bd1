import csv
import io
import json

import pytest
import yaml
from django.urls import reverse
from rest_framework.test import APIClient

from analytics.models import SelectionFrequency
from tests.analytics.demo_data import build_demo_like
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff():
    client = APIClient()
    client.force_authenticate(UserFactory(is_staff=True))
    return client


@pytest.fixture
def dataset():
    return build_demo_like()


def _all(client: APIClient, name: str, **params) -> list[dict]:
    rows, url = [], reverse(f"analytics:{name}-list")
    response = client.get(url, {"page_size": 7, **params}).json()
    while True:
        rows += response["results"]
        if not response["next"]:
            return rows
        response = client.get(response["next"]).json()


def test_it_filters_selection_frequencies_by_label_and_sf_range(staff, dataset):
    rows = _all(staff, "selection-frequency", dataset=dataset.name, label="2", sf_min="0.5", sf_max="1")
    expected = [sf for sf in SelectionFrequency.objects.filter(label__index=2) if 0.5 <= sf.sf <= 1]
    assert sorted(r["image_id"] for r in rows) == sorted(sf.image_id for sf in expected) and rows
    assert all(r["label"] == 2 and r["sf"] >= 0.5 for r in rows)


def test_it_pages_with_a_cursor_without_losing_rows(staff, dataset):
    assert len(_all(staff, "contains-judgment")) == 36 * 5
    pairs = [(r["image_id"], r["label"]) for r in _all(staff, "selection-frequency")]
    assert sorted(pairs) == sorted(SelectionFrequency.objects.values_list("image_id", "label__index"))
    assert len(set(pairs)) == len(pairs)


def test_it_reads_one_selection_frequency_by_its_pair(staff, dataset):
    row = SelectionFrequency.objects.select_related("label").first()
    url = reverse("analytics:selection-frequency-detail", args=[f"{row.image_id}-{row.label.index}"])
    assert staff.get(url).json() == {
        "image": row.image.external_id, "image_id": row.image_id, "label": row.label.index,
        "n_selected": row.n_selected, "n_shown": row.n_shown, "sf": row.sf,
    }
    missing = reverse("analytics:selection-frequency-detail", args=[f"{row.image_id}-999"])
    assert staff.get(missing).status_code == 404


def test_it_filters_images_by_category_and_classes_by_superclass(staff, dataset):
    follow_up = _all(staff, "image", category="fu")
    assert follow_up and all(r["category"] == "fu" for r in follow_up)
    assert {r["superclass"] for r in _all(staff, "class", category="Birds")} == {"Birds"}


def test_it_refuses_filters_outside_the_allow_list(staff, dataset):
    for params in ({"image__dataset__name__startswith": "d"}, {"label": "x"}, {"sf_min": "2"}, {"order_by": "id"}):
        response = staff.get(reverse("analytics:selection-frequency-list"), params)
        assert response.status_code == 400, params
        assert "detail" in response.json()


def test_it_hides_worker_ids_unless_staff_ask_for_raw_ids(staff, dataset):
    hashed = {r["worker"] for r in _all(staff, "contains-judgment")}
    assert all(w.startswith("w_") for w in hashed)
    raw = {r["worker"] for r in _all(staff, "contains-judgment", raw_worker_ids="1")}
    assert raw == {f"simulated-{i:03d}" for i in range(5)}


def test_researchers_cannot_ask_for_raw_worker_ids(dataset):
    from analytics.access import grant_read

    user = UserFactory(username="researcher")
    grant_read(user, dataset)
    client = APIClient()
    client.force_authenticate(user)
    workers = {r["worker"] for r in _all(client, "worker", raw_worker_ids="1")}
    assert workers and all(w.startswith("w_") for w in workers)


def _export(client: APIClient, dataset, what: str, fmt: str) -> str:
    response = client.get(reverse("analytics:export", args=[dataset.name, what, fmt]))
    assert response.status_code == 200 and response.streaming
    return b"".join(response.streaming_content).decode()


def test_it_streams_every_export_as_jsonl_and_csv(staff, dataset):
    for what in ("candidates", "sf", "classify", "contains", "classify_responses"):
        lines = _export(staff, dataset, what, "jsonl").splitlines()
        records = [json.loads(line) for line in lines]
        rows = list(csv.DictReader(io.StringIO(_export(staff, dataset, what, "csv"))))
        assert records and len(rows) == len(records), what
        assert set(rows[0]) == set(records[0]), what
    sf = json.loads(_export(staff, dataset, "sf", "jsonl").splitlines()[0])
    assert set(sf) == {"image", "label", "n_selected", "n_shown", "sf"}
    assert sf["sf"] == round(sf["n_selected"] / sf["n_shown"], 4)
    candidates = json.loads(_export(staff, dataset, "candidates", "jsonl").splitlines()[0])
    assert candidates["candidates"][0]["sources"]


def test_it_refuses_unknown_exports(staff, dataset):
    assert staff.get(reverse("analytics:export", args=[dataset.name, "sf", "xml"])).status_code == 400
    assert staff.get(reverse("analytics:export", args=[dataset.name, "secrets", "csv"])).status_code == 400


def test_the_schema_validates_and_the_docs_are_served_locally(client):
    from openapi_spec_validator import validate

    schema = yaml.safe_load(client.get(reverse("analytics:schema")).content)
    validate(schema)
    assert "/api/v1/selection-frequencies/" in schema["paths"]
    docs = client.get(reverse("analytics:api-docs")).content.decode()
    assert "swagger-ui" in docs and "cdn" not in docs.lower()
