"""Hostile visitors on Prolific's landing URL and HIT pages, over real HTTP with DEBUG off.

The site cannot reach any Prolific here, so a new session can never be checked: whatever ids a stranger
sends, the answer is a 4xx or 503 page, never a 500, and nothing is stored.
"""

import pytest

SETUP = """
from django.utils import timezone
from annotation.models import Dataset
from tasks.models import Batch, Hit, ProlificStudy
dataset = Dataset.objects.create(name="prolific-hostile")
batch = Batch.objects.create(dataset=dataset, kind="contains", provider="prolific-sim", status="published")
hit = Hit.objects.create(batch=batch, status="published")
ProlificStudy.objects.create(batch=batch, internal_name="hostile", study_id="a" * 24, status="active",
                             claimed_at=timezone.now(), hits_per_session=1, completion_code="C0DE")
result = [batch.pk, hit.pk]
"""
# The live site is shared with other hostile-client tests: count only what this study could have stored.
STORED = """
from tasks.models import Assignment, ProlificSession, Worker
result = [Assignment.objects.filter(hit__batch_id={batch}).count(),
          ProlificSession.objects.filter(batch_id={batch}).count(),
          Worker.objects.filter(provider="prolific-sim").count()]
"""


@pytest.fixture(scope="module")
def target(live_site) -> tuple[int, int]:
    return tuple(live_site.run(SETUP))


@pytest.mark.parametrize(("query", "status"), [
    # unchecked session: 503 when no Prolific answers, 403 if a simulator on the default port says "unknown"
    ("PROLIFIC_PID=" + "b" * 24 + "&STUDY_ID=" + "a" * 24 + "&SESSION_ID=" + "c" * 24, {403, 503}),
    ("PROLIFIC_PID=" + "b" * 24 + "&STUDY_ID=" + "d" * 24 + "&SESSION_ID=" + "c" * 24, {403}),
    ("PROLIFIC_PID=%3Cscript%3E&STUDY_ID=x&SESSION_ID=y", {400}),
    ("PROLIFIC_PID=" + "b" * 1000 + "&STUDY_ID=" + "a" * 24 + "&SESSION_ID=" + "c" * 24, {400}),
    ("PROLIFIC_PID=" + "b" * 5000, {414}),  # gunicorn refuses the request line before Django
    ("", {400}),
])
def test_a_stranger_cannot_open_a_session(live_site, target, query, status):
    batch, _ = target
    response = live_site.browser().get(f"/prolific/{batch}/start/?{query}")
    assert response.status in status and "<script>" not in response.text
    assert live_site.run(STORED.format(batch=batch)) == [0, 0, 0]


def test_a_stranger_cannot_make_an_assignment_on_a_prolific_hit_page(live_site, target):
    batch, hit = target
    response = live_site.browser().get(f"/hit/{hit}/?assignmentId={'c' * 24}-{hit}&workerId={'b' * 24}")
    assert response.status == 403
    assert live_site.run(STORED.format(batch=batch)) == [0, 0, 0]
