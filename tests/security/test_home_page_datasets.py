"""The home page names datasets and their sizes to staff only."""

import pytest
from django.test import Client

from tests.factories import DatasetFactory, ImageFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def dataset():
    dataset = DatasetFactory(name="secret-benchmark")
    ImageFactory.create_batch(3, dataset=dataset)
    return dataset


def _home(user=None) -> str:
    client = Client()
    if user is not None:
        client.force_login(user)
    response = client.get("/")
    assert response.status_code == 200
    return response.content.decode()


def test_it_lists_datasets_and_sizes_to_staff(dataset):
    assert "secret-benchmark — 3 images" in _home(UserFactory(is_staff=True))


@pytest.mark.parametrize("who", ["anonymous", "annotator"])
def test_it_names_no_dataset_to_anyone_else(dataset, who):
    html = _home(None if who == "anonymous" else UserFactory())
    assert "secret-benchmark" not in html and "3 images" not in html and "Datasets" not in html
