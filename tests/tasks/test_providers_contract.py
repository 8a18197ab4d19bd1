"""One contract every crowd provider passes: local annotators, the link provider, MTurk and Prolific (simulators)."""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.db.models import F
from django.utils import timezone

from tasks.models import Assignment, Batch, Bonus, Hit, Provider, Worker
from tasks.mturk import MTurkError
from tasks.providers import CrowdProvider, ProviderError, get_provider
from tasks.services import publish_batch, spent_cost
from tasks.simulators.mturk.store import STARTING_BALANCE as SIM_STARTING_BALANCE
from tasks.simulators.mturk.store import Store
from tasks.transitions import TransitionError, transition
from tests.factories import AssignmentFactory, WorkerFactory
from tests.mturk_sim import accept, advance_clock, inject_fault, make_batch, running_simulator, submit
from tests.prolific_sim import running_prolific, work_session

pytestmark = pytest.mark.django_db


@dataclass
class Kit:
    provider: CrowdProvider
    target: str
    sim_url: str | None = None
    sim_state: Path | None = None

    def submitted(self, hit: Hit, worker_id: str, flagged: bool = False, round_index: int = 0) -> Assignment:
        """Work a worker has submitted, as the HIT page stores it (and on MTurk, as the simulator has it)."""
        if self.target == Provider.PROLIFIC_SIM:
            hit.refresh_from_db()
            return work_session(self.sim_url, hit, worker_id, flagged)
        provider_assignment_id = ""
        if self.sim_url:
            accepted = accept(self.sim_url, hit.provider_round_ids[round_index], worker_id)
            status, body = submit(self.sim_url, accepted["assignmentId"])
            assert status == 200, body
            provider_assignment_id = accepted["assignmentId"]
        worker = WorkerFactory(provider=self.target, external_id=worker_id)
        assignment = AssignmentFactory(hit=hit, worker=worker, provider_assignment_id=provider_assignment_id,
                                       flagged=flagged, confirmation=Assignment.Confirmation.CONFIRMED)
        return transition(assignment, Assignment.Status.SUBMITTED)

    def platform(self) -> dict:
        """The platform's own records (the simulator's state); empty for providers without a platform."""
        return Store(self.sim_state).load() if self.sim_state else {}

    def needs_platform(self) -> None:
        """These checks read the MTurk simulator's records (rounds, assignment states, balance)."""
        if self.target == Provider.PROLIFIC_SIM:
            pytest.skip("MTurk-shaped platform records; prolific-sim's are checked in tests/tasks/test_prolific_*.py")
        if not self.sim_state:
            pytest.skip(f"{self.target} keeps no tasks or money on a platform")


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
    settings.MTURK_MAX_ATTEMPTS = 0  # botocore retries none: the faults the simulator injects reach the provider
    with running_simulator(tmp_path / "sim.json") as url:
        settings.MTURK_ENDPOINT_URL = url
        yield Kit(get_provider("simulator"), "simulator", url, tmp_path / "sim.json")


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
    no_answer = AssignmentFactory(hit=hit, worker=WorkerFactory(provider=kit.target), provider_assignment_id="",
                                  confirmation=Assignment.Confirmation.CONFIRMED)
    kit.provider.sync(batch)
    assert Assignment.objects.get(pk=no_answer.pk).status == Assignment.Status.ACCEPTED
    snapshot = list(Assignment.objects.order_by("pk").values_list("pk", "status"))
    kit.provider.sync(batch)
    assert list(Assignment.objects.order_by("pk").values_list("pk", "status")) == snapshot
    assert Assignment.objects.get(pk=passing.pk).status in (Assignment.Status.APPROVED, Assignment.Status.SUBMITTED)


def test_it_is_chosen_by_target(kit):
    assert kit.provider.name == kit.target
    assert kit.target in Provider.values


# -- the money invariants (docs/crowd.md, "Money guarantees") ------------------------------------------------
def _paid_bonuses(kit: Kit, assignment: Assignment) -> list[str]:
    """Bonus amounts as the platform paid them (the simulator's ledger), or as recorded where nothing is sent."""
    if kit.sim_state:
        return [b["BonusAmount"] for b in kit.platform()["bonuses"] if b["AssignmentId"] ==
                assignment.provider_assignment_id]
    return [str(b.amount) for b in Bonus.objects.filter(assignment=assignment, status=Bonus.Status.PAID)]


def test_invariant_1_it_never_pays_a_bonus_twice_when_retried_after_the_token_window(kit, batch):
    assignment = kit.submitted(batch.hits.first(), "AWORKERSIX")
    kit.provider.approve(assignment)
    kit.provider.bonus(assignment, Decimal("0.25"), "great work")
    # The reply was lost: our row says pending, the sender's claim lapsed, and a day later MTurk forgot the token.
    Bonus.objects.update(status=Bonus.Status.PENDING, paid_at=None, attempted_at=timezone.now() - timedelta(hours=1))
    if kit.sim_state:
        advance_clock(kit.sim_state, hours=25)
    again = kit.provider.bonus(assignment, Decimal("0.25"), "great work")
    assert again.status == Bonus.Status.PAID
    assert _paid_bonuses(kit, assignment) == ["0.25"]


def test_invariant_1_it_caps_all_the_bonuses_of_one_assignment(kit, batch, settings):
    settings.RELABEL_MAX_BONUS_PER_ASSIGNMENT = Decimal("1.00")
    assignment = kit.submitted(batch.hits.first(), "AWORKERSEVEN")
    kit.provider.approve(assignment)
    kit.provider.bonus(assignment, Decimal("0.60"), "great work")
    with pytest.raises(ProviderError, match="cap per assignment"):
        kit.provider.bonus(assignment, Decimal("0.60"), "more great work")
    assert _paid_bonuses(kit, assignment) == ["0.60"]


def _a_day_passes(kit: Kit, hit: Hit) -> None:
    """25 hours on both clocks: the simulator's, and our record of when publishing started."""
    advance_clock(kit.sim_state, hours=25)
    Hit.objects.filter(pk=hit.pk).update(publish_started_at=F("publish_started_at") - timedelta(hours=25))


def test_invariant_2_a_retry_after_a_partial_publish_creates_only_the_missing_round(kit):
    kit.needs_platform()
    batch = make_batch(hits=1, assignments=3, options={"rounds_of": 2})
    hit = batch.hits.get()
    inject_fault(kit.sim_state, "CreateHITWithHITType", "service_fault", after=1)
    with pytest.raises(MTurkError, match="ServiceFault"):
        kit.provider.publish(hit)
    hit.refresh_from_db()
    assert (hit.status, len(hit.provider_round_ids)) == (Hit.Status.DRAFT, 1)
    _a_day_passes(kit, hit)  # past the 24 hours MTurk remembers the first round's token
    assert kit.provider.publish(hit)
    hit.refresh_from_db()
    assert sorted(hit.provider_round_ids) == sorted(kit.platform()["hits"])


def test_invariant_2_a_round_whose_reply_was_lost_is_found_not_created_again(kit):
    kit.needs_platform()
    batch = make_batch(hits=1, assignments=3, options={"rounds_of": 2})
    hit = batch.hits.get()
    inject_fault(kit.sim_state, "CreateHITWithHITType", "lost_reply", after=1)
    with pytest.raises(MTurkError):
        kit.provider.publish(hit)
    assert len(kit.platform()["hits"]) == 2  # MTurk made round 2; we never heard of it
    _a_day_passes(kit, hit)
    kit.provider.publish(hit)
    hit.refresh_from_db()
    assert sorted(hit.provider_round_ids) == sorted(kit.platform()["hits"])


def _platform_charges(kit: Kit) -> Decimal:
    return Decimal(SIM_STARTING_BALANCE) - Decimal(kit.platform()["balance"])


def test_invariant_3_work_with_no_stored_answer_is_flagged_and_its_payment_counted(kit, batch):
    kit.needs_platform()
    hit = batch.hits.first()
    orphan = accept(kit.sim_url, hit.provider_hit_id, "AORPHAN")["assignmentId"]
    assert submit(kit.sim_url, orphan)[0] == 200
    report = kit.provider.sync(batch)
    assert report.missing_answer == [orphan]
    local = Assignment.objects.get(provider_assignment_id=orphan)
    assert (local.status, local.answer_missing) == (Assignment.Status.SUBMITTED, True)
    assert kit.platform()["assignments"][orphan]["AssignmentStatus"] == "Submitted"  # not approved by us
    advance_clock(kit.sim_state, hours=24 * 4)  # MTurk auto-approves after the batch's 3-day delay
    kit.provider.sync(batch)
    assert Assignment.objects.get(pk=local.pk).status == Assignment.Status.APPROVED
    spent = spent_cost(batch)
    assert spent.approved == 1 and spent.total == _platform_charges(kit)


@pytest.mark.parametrize("masters", [False, True])
def test_invariant_4_fees_follow_each_rounds_own_rate(kit, masters):
    kit.needs_platform()
    batch = make_batch(hits=1, assignments=12, options={"rounds_of": 10, "masters": masters})
    publish_batch(batch, kit.provider)
    hit = batch.hits.get()
    kit.submitted(hit, "AROUNDONE", round_index=0)  # a round of 10: 40 %
    kit.submitted(hit, "AROUNDTWO", round_index=1)  # a round of 2: 20 %
    assert kit.provider.sync(batch).approved == 2
    spent = spent_cost(batch)
    assert spent.fees == (Decimal("0.08") if masters else Decimal("0.06"))  # 0.045 → 0.05, 0.025 → 0.03
    assert spent.total == _platform_charges(kit)


def test_invariant_5_an_approval_on_the_platform_after_our_rejection_wins(kit, batch):
    kit.needs_platform()
    assignment = kit.submitted(batch.hits.first(), "AOVERRIDE")
    kit.provider.reject(assignment, "Most control images were wrong.")
    kit.provider.client.approve_assignment(AssignmentId=assignment.provider_assignment_id, OverrideRejection=True)
    report = kit.provider.sync(batch)
    assert (report.updated_from_provider, report.errors) == (1, [])
    assert Assignment.objects.get(pk=assignment.pk).status == Assignment.Status.APPROVED


def test_invariant_5_it_approves_after_all_once(kit, batch):
    assignment = kit.submitted(batch.hits.first(), "AAFTERALL")
    kit.provider.reject(assignment, "Most control images were wrong.")
    kit.provider.approve_after_all(assignment, "Sorry, our mistake.")
    assert Assignment.objects.get(pk=assignment.pk).status == Assignment.Status.APPROVED
    if kit.sim_state:
        assert kit.platform()["assignments"][assignment.provider_assignment_id]["AssignmentStatus"] == "Approved"
    with pytest.raises(TransitionError):
        kit.provider.approve_after_all(assignment)


def test_it_pays_no_one_when_the_platform_names_another_worker(kit, batch):
    kit.needs_platform()
    hit = batch.hits.first()
    assignment_id = accept(kit.sim_url, hit.provider_hit_id, "AREALWORKER")["assignmentId"]
    assert submit(kit.sim_url, assignment_id)[0] == 200
    impostor = AssignmentFactory(hit=hit, worker=WorkerFactory(provider=kit.target, external_id="AIMPOSTOR"),
                                 provider_assignment_id=assignment_id, confirmation=Assignment.Confirmation.CONFIRMED)
    transition(impostor, Assignment.Status.SUBMITTED)
    report = kit.provider.sync(batch)
    assert report.approved == 0 and "AREALWORKER" in report.errors[0]
    assert kit.platform()["assignments"][assignment_id]["AssignmentStatus"] == "Submitted"


def test_it_confirms_the_assignments_the_platform_lists(kit, batch):
    kit.needs_platform()
    assignment = kit.submitted(batch.hits.first(), "ACONFIRM")
    Assignment.objects.filter(pk=assignment.pk).update(confirmation=Assignment.Confirmation.UNCONFIRMED)
    kit.provider.sync(batch)
    assert Assignment.objects.get(pk=assignment.pk).confirmation == Assignment.Confirmation.CONFIRMED


def test_invariant_1_a_refused_bonus_can_be_retried_at_once_and_is_paid_once(kit, batch):
    kit.needs_platform()
    assignment = kit.submitted(batch.hits.first(), "ABONUSRETRY")
    kit.provider.approve(assignment)
    inject_fault(kit.sim_state, "SendBonus", "service_fault")
    with pytest.raises(MTurkError, match="ServiceFault"):
        kit.provider.bonus(assignment, Decimal("0.30"), "thanks")
    assert Bonus.objects.get().status == Bonus.Status.PENDING
    assert kit.provider.bonus(assignment, Decimal("0.30"), "thanks").status == Bonus.Status.PAID
    assert _paid_bonuses(kit, assignment) == ["0.30"]


def test_it_takes_an_expiry_repeated_after_a_lost_reply_as_done(kit, batch):
    kit.needs_platform()
    inject_fault(kit.sim_state, "UpdateExpirationForHIT", "lost_reply")
    with pytest.raises(MTurkError):
        kit.provider.expire(batch)  # MTurk expired the first HIT; we never heard so
    assert kit.provider.expire(batch) == 2
    assert set(batch.hits.values_list("status", flat=True)) == {Hit.Status.EXPIRED}
