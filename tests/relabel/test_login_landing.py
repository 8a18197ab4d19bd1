"""After logging in without a `next`, staff land on the dashboard and annotators on /annotate/."""

import pytest

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery staple"


def _log_in(client, username: str, **query) -> str:
    response = client.post("/accounts/login/" + (f"?next={query['next']}" if query else ""),
                           {"username": username, "password": PASSWORD})
    assert response.status_code == 302
    return response["Location"]


def test_it_sends_staff_to_the_dashboard(client):
    UserFactory(username="lead", is_staff=True)
    assert _log_in(client, "lead") == "/dashboard/"


def test_it_sends_annotators_to_their_next_hit(client):
    UserFactory(username="ann")
    assert _log_in(client, "ann") == "/annotate/"


def test_it_still_honours_next(client):
    UserFactory(username="lead2", is_staff=True)
    assert _log_in(client, "lead2", next="/admin/") == "/admin/"
