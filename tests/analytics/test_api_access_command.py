"""`manage.py api_access`: grants and dataset-scoped tokens, checked against the API itself."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from rest_framework.test import APIClient

from analytics.models import ApiToken, DatasetAccess
from tests.factories import DatasetFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return UserFactory(username="ada"), DatasetFactory(name="paper"), DatasetFactory(name="private")


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command("api_access", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def _datasets(client: APIClient) -> set[str] | int:
    response = client.get(reverse("analytics:dataset-list"))
    return {row["name"] for row in response.json()["results"]} if response.status_code == 200 else response.status_code


def _as(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _with_key(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_it_grants_and_revokes_read_access(world):
    user = world[0]
    assert _datasets(_as(user)) == 403
    assert "ada can read dataset paper" in _run("grant", "--user", "ada", "--dataset", "paper")
    _run("grant", "--user", "ada", "--dataset", "paper")
    assert DatasetAccess.objects.filter(user=user).count() == 1
    assert _datasets(_as(user)) == {"paper"}
    assert "can no longer read" in _run("revoke", "--user", "ada", "--dataset", "paper")
    assert _datasets(_as(user)) == 403
    assert "nothing to do" in _run("revoke", "--user", "ada", "--dataset", "paper")


def test_it_creates_a_token_that_reads_its_dataset_only_and_shows_the_key_once(world):
    staff = UserFactory(username="root", is_staff=True)
    key = _run("token", "create", "--user", "root", "--dataset", "paper", "--name", "release").strip()
    token = ApiToken.objects.get()
    assert (token.user, token.dataset.name, token.name) == (staff, "paper", "release")
    assert key not in token.key_hash and len(key) == 40
    assert _datasets(_with_key(key)) == {"paper"}
    listing = _run("token", "list")
    assert "release\troot\tpaper" in listing and key not in listing


def test_it_refuses_a_token_for_a_user_who_cannot_read_the_dataset(world):
    with pytest.raises(CommandError, match=r"cannot read dataset 'paper'.*api_access grant --user ada"):
        _run("token", "create", "--user", "ada", "--dataset", "paper")
    assert not ApiToken.objects.exists()
    _run("grant", "--user", "ada", "--dataset", "paper")
    key = _run("token", "create", "--user", "ada", "--dataset", "paper").strip()
    assert _datasets(_with_key(key)) == {"paper"}


def test_a_revoked_token_is_refused(world):
    UserFactory(username="root", is_staff=True)
    key = _run("token", "create", "--user", "root", "--dataset", "private").strip()
    token_id = ApiToken.objects.get().pk
    assert f"revoked token {token_id}" in _run("token", "revoke", str(token_id))
    assert _datasets(_with_key(key)) == 401
    assert _run("token", "list").strip() == "no API tokens"
    with pytest.raises(CommandError, match=f"no API token with id {token_id}"):
        _run("token", "revoke", str(token_id))


def test_it_names_unknown_users_and_datasets(world):
    with pytest.raises(CommandError, match="no user named 'bob'"):
        _run("grant", "--user", "bob", "--dataset", "paper")
    with pytest.raises(CommandError, match="no dataset named 'nope'"):
        _run("grant", "--user", "ada", "--dataset", "nope")
