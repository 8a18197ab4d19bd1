"""API filters accept only allow-listed names: no ORM lookups through the query string."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from tests.security.test_permissions_matrix import DETAIL_OBJECTS

pytestmark = pytest.mark.django_db

ATTACKS = [
    {"worker__user__password__startswith": "pbkdf2"},
    {"assignment__worker__user__password__startswith": "p"},
    {"image__dataset__name__startswith": "d"},
    {"dataset__api_tokens__key_hash__startswith": "a"},
    {"created_by__password__regex": ".*"},
    {"ordering": "assignment__worker__user__password"},
    {"search": "x"},
    {"fields": "password"},
]


@pytest.mark.parametrize("attack", ATTACKS, ids=lambda a: next(iter(a)))
@pytest.mark.parametrize("name", sorted(DETAIL_OBJECTS))
def test_it_refuses_filters_outside_the_allow_list(world, name, attack):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {world.staff_token}")
    response = client.get(reverse(f"analytics:{name}-list"), attack)
    assert response.status_code == 400, (name, attack, response.status_code)
    assert "Unknown filter" in response.json()["detail"]


def test_exports_ignore_lookups_in_the_query_string(world):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {world.staff_token}")
    url = f"/api/v1/datasets/{world.dataset.name}/export/contains.jsonl"
    plain = b"".join(client.get(url).streaming_content)
    attacked = b"".join(client.get(url, {"worker__user__password__startswith": "p"}).streaming_content)
    assert plain and attacked == plain and b"pbkdf2" not in attacked


def test_the_dataset_filter_works_on_every_list_including_workers(world):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {world.staff_token}")
    for name in set(DETAIL_OBJECTS) - {"class"}:  # the taxonomy is not per dataset
        for value in (world.dataset.name, "no-such-dataset", ""):
            assert client.get(reverse(f"analytics:{name}-list"), {"dataset": value}).status_code == 200, name
