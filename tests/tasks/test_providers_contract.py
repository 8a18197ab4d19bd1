"""One contract every crowd provider passes: local annotators, the link provider, MTurk and Prolific (simulators)."""

from dataclasses import dataclass
from decimal import Decimal

import pytest

from tasks.models import Assignment, Batch, Bonus, Hit, Provider, Worker
from tasks.providers import CrowdProvider, ProviderError, get_provider
from tasks.services import publish_batch
from tasks.transitions import TransitionError, transition
from tests.factories import AssignmentFactory, WorkerFactory
from tests.mturk_sim import accept, make_batch, post_form, running_simulator
from tests.prolific_sim import running_prolific, work_session

pytestmark = pytest.mark.django_db


@dataclass
class Kit:
    provider: CrowdProvider
    target: str
    sim_url: str | None = None

    def submitted(self, hit: Hit, worker_id: str, flagged: bool = False) -> Assignment:
        """Work a worker has submitted, as the HIT page stores it (and on a platform, as its simulator has it)."""
        if self.target == Provider.PROLIFIC_SIM:
            hit.refresh_from_db()
            return work_session(self.sim_url, hit, worker_id, flagged)
        provider_assignment_id = ""
        if self.sim_url:
            accepted = accept(self.sim_url, hit.provider_hit_id, worker_id)
            status, body = post_form(f"{self.sim_url}/mturk/externalSubmit", {"assignmentId": accepted["assignmentId"]})
            assert status == 200, body
            provider_assignment_id = accepted["assignmentId"]
        worker = WorkerFactory(provider=self.target, external_id=worker_id)
        assignment = AssignmentFactory(hit=hit, worker=worker, provider_assignment_id=provider_assignment_id,
                                       flagged=flagged)
        return transition(assignment, Assignment.Status.SUBMITTED)


@pytest.fixture(params=["local", "link", "simulator", "prolific-sim"])
def kit(request, settings, tmp_path):
    if request.param == "prolific-sim":
        with running_prolific(tmp_path / "prolific.json", settings) as url:
            settings.PROLIFIC_SECONDS_PER_HIT = 600  # one HIT per participant session
            yield Kit(get_provider("prolific-sim"), "prolific-sim", url)
        return
    if request.param != "simulator":
        yield Kit(get_provider(request.param), request.param)
        return
    with running_simulator(tmp_path / "sim.json") as url:
        settings.MTURK_ENDPOINT_URL = url
        yield Kit(get_provider("simulator"), "simulator", url)


@pytest.fixture
def batch(kit):
    batch = make_batch(hits=2, assignments=3)
    publish_batch(batch, kit.provider)
    return batch


def test_it_publishes_each_hit_once(kit):
    batch = make_batch(hits=2, assignments=3)
    hits = list(batch.hits.order_by("pk"))
    assert [kit.provider.publish(hit) for hit in hits] == [True, True]
    assert [kit.provider.publish(hit) for hit in hits] == [False, False]
    assert set(batch.hits.values_list("status", flat=True)) == {Hit.Status.PUBLISHED}


def test_it_approves_once(kit, batch):
    assignment = kit.submitted(batch.hits.first(), "AWORKERONE")
    kit.provider.approve(assignment)
    assert Assignment.objects.get(pk=assignment.pk).status == Assignment.Status.APPROVED
    with pytest.raises(TransitionError):
        kit.provider.approve(assignment)
    with pytest.raises(TransitionError):
        kit.provider.reject(assignment, "too late")


def test_it_rejects_once_with_feedback(kit, batch):
    assignment = kit.submitted(batch.hits.first(), "AWORKERTWO")
    with pytest.raises(ProviderError, match="feedback"):
        kit.provider.reject(assignment, "  ")
    kit.provider.reject(assignment, "Most control images were wrong.")
    assert assignment.transitions.last().note == "Most control images were wrong."
    with pytest.raises(TransitionError):
        kit.provider.approve(assignment)


def test_it_pays_a_bonus_once(kit, batch):
    assignment = kit.submitted(batch.hits.first(), "AWORKERTHREE")
    with pytest.raises(ProviderError, match="approved work only"):
        kit.provider.bonus(assignment, Decimal("0.25"), "great work")
    kit.provider.approve(assignment)
    first = kit.provider.bonus(assignment, Decimal("0.25"), "great work")
    again = kit.provider.bonus(assignment, Decimal("0.25"), "great work")
    assert first.pk == again.pk and Bonus.objects.count() == 1
    assert Assignment.objects.get(pk=assignment.pk).bonus_paid == Decimal("0.25")


def test_it_blocks_and_unblocks_workers(kit, batch):
    worker = WorkerFactory(provider=kit.target, external_id="AWORKERFOUR")
    kit.provider.block(worker, "random clicking")
    assert Worker.objects.get(pk=worker.pk).blocked
    kit.provider.unblock(worker)
    assert not Worker.objects.get(pk=worker.pk).blocked


def test_it_expires_a_batch(kit, batch):
    assert kit.provider.expire(batch) == 2
    assert set(batch.hits.values_list("status", flat=True)) == {Hit.Status.EXPIRED}
    assert Batch.objects.get(pk=batch.pk).status == Batch.Status.EXPIRED
    assert kit.provider.expire(batch) == 0


def test_it_never_approves_work_without_a_stored_answer_and_resync_changes_nothing(kit, batch):
    hit = batch.hits.first()
    passing = kit.submitted(hit, "AWORKERFIVE")
    no_answer = AssignmentFactory(hit=hit, worker=WorkerFactory(provider=kit.target), provider_assignment_id="")
    kit.provider.sync(batch)
    assert Assignment.objects.get(pk=no_answer.pk).status == Assignment.Status.ACCEPTED
    snapshot = list(Assignment.objects.order_by("pk").values_list("pk", "status"))
    kit.provider.sync(batch)
    assert list(Assignment.objects.order_by("pk").values_list("pk", "status")) == snapshot
    assert Assignment.objects.get(pk=passing.pk).status in (Assignment.Status.APPROVED, Assignment.Status.SUBMITTED)


def test_it_is_chosen_by_target(kit):
    assert kit.provider.name == kit.target
    assert kit.target in Provider.values
