"""Deeply nested JSON is a 400 that says so (it was a 500: RecursionError), and nothing is stored."""

import io
import json

import pytest
from django.test import Client
from rest_framework.exceptions import ParseError

from annotation.models import ClassifyResponse, ContainsJudgment
from label1000.models import Label1000Response
from relabel.api_parsers import BoundedJSONParser
from tasks.models import Assignment, Worker
from tasks.signing import make_token
from tests.security.world import World

DEEP = "[" * 1000 + "]" * 1000


def _stored() -> int:
    return sum(m.objects.count() for m in (ContainsJudgment, ClassifyResponse, Label1000Response))


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["contains_hit", "classify_hit", "label1000_hit"])
def test_a_hit_submission_refuses_deep_json_with_a_message(world: World, kind):
    hit = getattr(world, kind)
    assignment = Assignment.objects.create(hit=hit, worker=Worker.objects.get(user=world.annotator),
                                           confirmation="confirmed")
    client = Client()
    client.force_login(world.annotator)
    before = _stored()
    for body in (DEEP, "[" * 1000, json.dumps({"token": make_token(assignment), "selected": []})[:-1]
                 + ', "x": ' + "[" * 900 + "]" * 900 + "}"):
        response = client.post(f"/hit/{hit.pk}/submit/", body, content_type="application/json")
        assert response.status_code == 400, body[:50]
        assert "levels deep" in response.json()["detail"]
    assignment.refresh_from_db()
    assert assignment.status == Assignment.Status.ACCEPTED and _stored() == before


def test_the_api_parser_refuses_deep_json_with_a_message():
    with pytest.raises(ParseError, match="levels deep"):
        BoundedJSONParser().parse(io.BytesIO(DEEP.encode()))
    assert BoundedJSONParser().parse(io.BytesIO(b'{"a": [1]}')) == {"a": [1]}
