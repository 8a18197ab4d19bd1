"""Oversized bodies, too many fields and malformed JSON get a 4xx on every POST endpoint and store nothing."""

import json

import pytest
from django.conf import settings
from django.test import Client

from analytics.models import JobRun
from annotation.models import ClassifyResponse, ContainsJudgment
from annotation.submission import MAX_BODY_BYTES
from label1000.models import ErrorTag, Label1000Response
from tasks.models import Assignment, Worker
from tasks.signing import make_token
from tests.security.world import World

pytestmark = pytest.mark.django_db


def _login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _with_csrf(user) -> tuple[Client, str]:
    """A browser-like client: CSRF enforced (the middleware parses every form body), with its token."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    client.get("/accounts/login/")
    return client, client.cookies["csrftoken"].value


def _too_many_fields() -> dict:
    return {f"f{i}": "x" for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1)}


def _too_big() -> dict:
    return {"blob": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)}


def _stored() -> int:
    return sum(m.objects.count() for m in (ContainsJudgment, ClassifyResponse, Label1000Response))


@pytest.mark.parametrize("kind", ["contains_hit", "classify_hit", "label1000_hit"])
def test_hit_submission_of_every_kind_refuses_hostile_bodies(world: World, kind):
    hit = getattr(world, kind)
    worker = Worker.objects.get(user=world.annotator)
    assignment = Assignment.objects.create(hit=hit, worker=worker)
    token = make_token(assignment)
    client = _login(world.annotator)
    url = f"/hit/{hit.pk}/submit/"
    before = _stored()
    bodies = [
        json.dumps({"token": token, "selected": [], "pad": "x" * MAX_BODY_BYTES}),
        "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1),
        '{"token": "' + token + '", "selected": [',
        json.dumps([token]),
        "\xff\xfe not utf-8",
        json.dumps({"token": token, "selected": list(range(5000)), "answers": [{}] * 5000}),
        json.dumps({"token": token, "selected": "1", "answers": "x"}),
    ]
    for body in bodies:
        response = client.post(url, data=body, content_type="application/json")
        assert 400 <= response.status_code < 500, (body[:60], response.status_code)
        assert "detail" in response.json()
    assert _stored() == before
    assignment.refresh_from_db()
    assert assignment.status == Assignment.Status.ACCEPTED


def test_login_refuses_too_many_fields_and_oversized_bodies(client):
    for data in (_too_many_fields(), _too_big()):
        assert client.post("/accounts/login/", data).status_code == 400
    malformed = client.post("/accounts/login/", data="username=%ZZ&&&=",
                            content_type="application/x-www-form-urlencoded")
    assert malformed.status_code in (200, 400, 403)


def test_dashboard_posts_refuse_hostile_bodies_and_store_nothing(world: World):
    staff, csrf = _with_csrf(world.staff)
    tags = ErrorTag.objects.count()
    for data in (_too_many_fields(), _too_big()):
        data["csrfmiddlewaretoken"] = csrf
        assert staff.post(f"/dashboard/{world.dataset.name}/jobs/aggregate/", data).status_code == 400
        assert staff.post(f"/dashboard/{world.dataset.name}/label1000/tag/", data).status_code == 400
    garbage = {"source": "human", "image": "1; DROP TABLE", "response": "x", "types": ["<script>"],
               "csrfmiddlewaretoken": csrf}
    assert staff.post(f"/dashboard/{world.dataset.name}/label1000/tag/", garbage).status_code == 400
    unknown_job = staff.post(f"/dashboard/{world.dataset.name}/jobs/not-a-job/", {"csrfmiddlewaretoken": csrf})
    assert unknown_job.status_code == 400
    assert not JobRun.objects.exists() and ErrorTag.objects.count() == tags


def test_the_link_completion_page_refuses_hostile_bodies(client, world: World):
    for data in (_too_many_fields(), _too_big()):
        assert client.post("/mturk/externalSubmit", data).status_code == 400


def test_the_admin_refuses_hostile_bodies(world: World):
    root = _login(world.superuser)
    before = Assignment.objects.filter(status=Assignment.Status.APPROVED).count()
    for data in (_too_many_fields(), _too_big()):
        data = {**data, "action": "approve_assignments", "_selected_action": [world.other_assignment.pk]}
        assert root.post("/admin/tasks/assignment/", data).status_code == 400
    assert Assignment.objects.filter(status=Assignment.Status.APPROVED).count() == before
