"""A local annotator's submission answers with their next HIT's address (no /annotate/ hop), or /annotate/
(which says "All done") when nothing is left."""

import json

import pytest

from tasks.models import Provider
from tasks.signing import make_token
from tests.factories import AssignmentFactory, LabelClassFactory, UserFactory, WorkerFactory
from tests.hitdata import contains_hit, images

pytestmark = pytest.mark.django_db


def test_it_points_at_the_next_open_hit_then_at_annotate(client):
    label = LabelClassFactory()
    first = contains_hit(label, images(2), provider=Provider.LOCAL)
    second = contains_hit(label, images(2), provider=Provider.LOCAL)
    owner = UserFactory(username="ann")
    worker = WorkerFactory(provider=Provider.LOCAL, external_id="ann", user=owner)
    client.force_login(owner)

    def submit(hit) -> str:
        body = {"token": make_token(AssignmentFactory(hit=hit, worker=worker)), "selected": []}
        response = client.post(f"/hit/{hit.pk}/submit/", json.dumps(body), content_type="application/json")
        assert response.status_code == 200
        return response.json()["next"]

    assert submit(first) == f"/hit/{second.pk}/"
    assert submit(second) == "/annotate/"
