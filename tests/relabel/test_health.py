import pytest
from django.db import connection

from tests.requirements import require_redis

pytestmark = pytest.mark.django_db


def test_liveness_needs_nothing(client):
    assert client.get("/healthz").json() == {"status": "ok"}


def test_readiness_reports_database_and_eager_broker(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "eager"}


def test_readiness_is_503_when_the_database_is_down(client, monkeypatch):
    def broken_cursor(*args, **kwargs):
        raise ConnectionError("database went away")

    monkeypatch.setattr(connection, "cursor", broken_cursor)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["database"] == "error: ConnectionError"


def test_readiness_checks_a_real_redis_broker(client, settings):
    from relabel.celery import app

    url = require_redis()
    original = app.conf.broker_url
    settings.CELERY_BROKER_URL = url
    app.conf.broker_url = url
    try:
        assert client.get("/readyz").json()["broker"] == "ok"
        settings.CELERY_BROKER_URL = app.conf.broker_url = "redis://127.0.0.1:1/0"
        response = client.get("/readyz")
        assert response.status_code == 503 and response.json()["broker"].startswith("error")
    finally:
        app.conf.broker_url = original
