"""Work submitted on the platform with no stored answer: flagged at once, decided by the researcher."""

from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.messages import get_messages
from django.core.management import call_command

from tasks.models import Assignment
from tasks.providers import get_provider
from tasks.services import DEFAULT_MISSING_FEEDBACK, publish_batch, spent_cost
from tasks.simulators.mturk.store import Store
from tests.factories import UserFactory
from tests.mturk_sim import accept, make_batch, running_simulator, submit

pytestmark = pytest.mark.django_db


@pytest.fixture
def sim(settings, tmp_path):
    with running_simulator(tmp_path / "sim.json") as url:
        settings.MTURK_ENDPOINT_URL = url
        yield url, Store(tmp_path / "sim.json")


def _orphans(sim_url: str, batch, workers: list[str]) -> list[str]:
    """Workers who submitted on the simulator while their answers never reached us."""
    ids = []
    for worker in workers:
        ids.append(accept(sim_url, batch.hits.get().provider_hit_id, worker)["assignmentId"])
        assert submit(sim_url, ids[-1])[0] == 200
    return ids


def _sync(batch) -> str:
    out = StringIO()
    call_command("sync_assignments", "--batch", batch.pk, stdout=out)
    return out.getvalue()


def test_sync_flags_them_at_once_and_says_how_to_decide(sim):
    url, store = sim
    batch = make_batch(hits=1, assignments=3, provider="simulator")
    publish_batch(batch, get_provider("simulator"))
    orphan, = _orphans(url, batch, ["AORPHANONE"])
    out = _sync(batch)
    assert orphan in out and "not approved" in out and f"review_missing --batch {batch.pk}" in out
    assert Assignment.objects.get(provider_assignment_id=orphan).answer_missing
    assert orphan in _sync(batch)  # still listed until someone decides
    assert store.load()["assignments"][orphan]["AssignmentStatus"] == "Submitted"


def test_review_missing_rejects_with_an_apology_or_approves_and_counts_the_payment(sim):
    url, store = sim
    batch = make_batch(hits=1, assignments=3, reward="0.50", provider="simulator")
    publish_batch(batch, get_provider("simulator"))
    first, second = _orphans(url, batch, ["AORPHANTWO", "AORPHANTHREE"])
    _sync(batch)
    out = StringIO()
    call_command("review_missing", "--batch", batch.pk, stdout=out)
    assert "2 submissions" in out.getvalue() and first in out.getvalue()

    Assignment.objects.filter(provider_assignment_id=second).update(answer_missing=False)  # decided apart below
    call_command("review_missing", "--batch", batch.pk, "--reject", stdout=StringIO())
    assert store.load()["assignments"][first]["RequesterFeedback"] == DEFAULT_MISSING_FEEDBACK
    Assignment.objects.filter(provider_assignment_id=second).update(answer_missing=True)
    call_command("review_missing", "--batch", batch.pk, "--approve", stdout=StringIO())
    assert store.load()["assignments"][second]["AssignmentStatus"] == "Approved"
    assert spent_cost(batch).total == Decimal("0.60")


def test_the_dashboard_shows_them_and_the_admin_approves_rejected_work_after_all(sim, client):
    url, store = sim
    batch = make_batch(hits=1, assignments=3, provider="simulator")
    publish_batch(batch, get_provider("simulator"))
    orphan, = _orphans(url, batch, ["AORPHANFOUR"])
    _sync(batch)
    client.force_login(UserFactory(username="crowd-staff", is_staff=True, is_superuser=True))
    page = client.get(f"/dashboard/{batch.dataset.name}/").content.decode()
    assert "Submitted with no stored answer" in page and "review_missing" in page

    assignment = Assignment.objects.get(provider_assignment_id=orphan)
    client.post("/admin/tasks/assignment/", {"action": "reject_assignments", "_selected_action": [assignment.pk]})
    response = client.post("/admin/tasks/assignment/", {"action": "approve_after_all",
                                                        "_selected_action": [assignment.pk]})
    assert "1 rejected assignments approved after all." in [str(m) for m in get_messages(response.wsgi_request)]
    assert store.load()["assignments"][orphan]["AssignmentStatus"] == "Approved"
    assert "Submitted with no stored answer" not in client.get(f"/dashboard/{batch.dataset.name}/").content.decode()
