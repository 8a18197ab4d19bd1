"""sync_assignments: approve what passes QC, reject what fails, report what has no stored answer."""

from io import StringIO

import pytest
from django.core.management import call_command

from tasks.models import Assignment, Provider
from tasks.privacy import public_worker_id
from tasks.providers import get_provider
from tasks.services import publish_batch, sync_batch
from tasks.simulators.mturk.store import Store
from tasks.tasks import sync_published_batches
from tasks.transitions import transition
from tests.factories import AssignmentFactory, WorkerFactory
from tests.mturk_sim import accept, make_batch, running_simulator, submit

pytestmark = pytest.mark.django_db


@pytest.fixture
def sim(settings, tmp_path):
    with running_simulator(tmp_path / "sim.json") as url:
        settings.MTURK_ENDPOINT_URL = url
        yield url


def _submit(sim: str, hit, worker_id: str) -> str:
    assignment_id = accept(sim, hit.provider_hit_id, worker_id)["assignmentId"]
    assert submit(sim, assignment_id)[0] == 200
    return assignment_id


def _stored(hit, worker_id: str, assignment_id: str, flagged: bool = False) -> Assignment:
    worker = WorkerFactory(provider=Provider.SIMULATOR, external_id=worker_id)
    assignment = AssignmentFactory(hit=hit, worker=worker, provider_assignment_id=assignment_id, flagged=flagged)
    return transition(assignment, Assignment.Status.SUBMITTED)


def test_it_approves_passing_and_rejects_flagged_work(sim, tmp_path):
    batch = make_batch(hits=1, assignments=3)
    publish_batch(batch, get_provider("simulator"))
    hit = batch.hits.get()
    good = _stored(hit, "AGOOD", _submit(sim, hit, "AGOOD"))
    bad = _stored(hit, "ABAD", _submit(sim, hit, "ABAD"), flagged=True)
    report = sync_batch(batch)
    assert (report.approved, report.rejected) == (1, 1)
    remote = Store(tmp_path / "sim.json").load()["assignments"]
    assert remote[good.provider_assignment_id]["AssignmentStatus"] == "Approved"
    assert remote[bad.provider_assignment_id]["AssignmentStatus"] == "Rejected"
    assert sync_batch(batch).unchanged == 2


def test_it_reports_submissions_with_no_stored_answer_and_never_approves_them(sim, tmp_path):
    batch = make_batch(hits=1, assignments=3)
    publish_batch(batch, get_provider("simulator"))
    orphan = _submit(sim, batch.hits.get(), "AORPHAN")
    out = StringIO()
    call_command("sync_assignments", "--batch", batch.pk, stdout=out)
    assert orphan in out.getvalue() and "not approved" in out.getvalue()
    assert Store(tmp_path / "sim.json").load()["assignments"][orphan]["AssignmentStatus"] == "Submitted"


def test_it_follows_approvals_made_on_the_platform(sim):
    batch = make_batch(hits=1, assignments=3)
    provider = get_provider("simulator")
    publish_batch(batch, provider)
    hit = batch.hits.get()
    local = _stored(hit, "AAUTO", _submit(sim, hit, "AAUTO"))
    provider.client.approve_assignment(AssignmentId=local.provider_assignment_id)
    assert sync_batch(batch).updated_from_provider == 1
    assert Assignment.objects.get(pk=local.pk).status == Assignment.Status.APPROVED


def test_it_retries_an_approval_that_did_not_reach_the_platform(sim, tmp_path):
    batch = make_batch(hits=1, assignments=3)
    publish_batch(batch, get_provider("simulator"))
    hit = batch.hits.get()
    local = _stored(hit, "ARETRY", _submit(sim, hit, "ARETRY"))
    transition(local, Assignment.Status.APPROVED)  # approved here, the API call was lost
    sync_batch(batch)
    assert Store(tmp_path / "sim.json").load()["assignments"][local.provider_assignment_id]["AssignmentStatus"] == (
        "Approved"
    )


def test_the_periodic_task_syncs_local_batches():
    batch = make_batch(hits=1, assignments=1)
    publish_batch(batch, get_provider("local"))
    assignment = AssignmentFactory(hit=batch.hits.get(), worker=WorkerFactory(provider=Provider.LOCAL))
    transition(assignment, Assignment.Status.SUBMITTED)
    sync_published_batches()
    assert Assignment.objects.get(pk=assignment.pk).status == Assignment.Status.APPROVED


def test_it_shows_salted_worker_ids(settings):
    settings.RELABEL_WORKER_ID_SALT = "pepper"
    worker = WorkerFactory(external_id="A1B2C3")
    pseudonym = public_worker_id(worker)
    assert pseudonym == public_worker_id("A1B2C3") and "A1B2C3" not in pseudonym
    assert public_worker_id(worker, raw=True) == "A1B2C3"
    settings.RELABEL_WORKER_ID_SALT = "salt"
    assert public_worker_id(worker) != pseudonym
