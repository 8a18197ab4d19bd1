"""On a fresh install (no dataset yet) staff and superusers get empty lists from the API, not a 403."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

LISTS = ["dataset-list", "image-list", "selection-frequency-list", "worker-list"]


@pytest.mark.parametrize("who", [{"is_staff": True}, {"is_staff": True, "is_superuser": True}],
                         ids=["staff", "superuser"])
@pytest.mark.parametrize("name", LISTS)
def test_it_answers_an_empty_list_to_staff_before_the_first_dataset(who, name):
    client = APIClient()
    client.force_authenticate(UserFactory(**who))
    response = client.get(reverse(f"analytics:{name}"))
    assert response.status_code == 200, response.content
    assert response.json()["results"] == []


def test_an_annotator_still_gets_a_403_that_says_why():
    client = APIClient()
    client.force_authenticate(UserFactory())
    response = client.get(reverse("analytics:dataset-list"))
    assert response.status_code == 403 and "DatasetAccess" in response.json()["detail"]
