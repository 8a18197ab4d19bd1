"""Liveness and readiness probes for load balancers and orchestrators."""

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache

from relabel.celery import app as celery_app


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: the process answers. Never touches the database or the broker."""
    return JsonResponse({"status": "ok"})


@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness: the database and (when configured) the Celery broker are reachable."""
    checks = {"database": _database_ok(), "broker": _broker_ok()}
    ready = all(value in ("ok", "eager") for value in checks.values())
    return JsonResponse({"status": "ok" if ready else "unavailable", **checks}, status=200 if ready else 503)


def _database_ok() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return "ok"
    except Exception as exc:  # any failure means "not ready"
        return f"error: {type(exc).__name__}"


def _broker_ok() -> str:
    if not settings.CELERY_BROKER_URL:
        return "eager"
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return "ok"
    except Exception as exc:  # any failure means "not ready"
        return f"error: {type(exc).__name__}"
