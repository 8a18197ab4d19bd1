"""Login throttling (django-axes): after RELABEL_LOGIN_FAILURE_LIMIT wrong passwords the login is paused."""

import pytest
from django.urls import reverse

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def annotator(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast: many logins here
    user = UserFactory(username="ann")
    user.set_password("right-password")
    user.save()
    return user


def _login(client, username: str, password: str):
    return client.post(reverse("login"), {"username": username, "password": password})


def test_it_pauses_logins_after_the_failure_limit_with_a_clear_message(client, settings, annotator):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _login(client, "ann", "wrong").status_code == 200  # the form again, with its error
    response = _login(client, "ann", "wrong")
    assert response.status_code == 429
    assert "Too many failed log-ins" in response.content.decode()
    assert "15 minutes" in response.content.decode()
    refused = _login(client, "ann", "right-password")  # even the right password, until the pause ends
    assert refused.status_code == 429 and "_auth_user_id" not in client.session
    annotator.refresh_from_db()
    assert annotator.last_login is None


def test_the_admin_login_is_throttled_too(client, settings, annotator):
    url = reverse("admin:login")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(url, {"username": "ann", "password": "wrong"})
    assert client.post(url, {"username": "ann", "password": "right-password"}).status_code == 429


def test_a_good_login_before_the_limit_clears_the_failures(client, settings, annotator):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _login(client, "ann", "wrong")
    assert _login(client, "ann", "right-password").status_code == 302
    client.logout()
    assert _login(client, "ann", "wrong").status_code == 200
