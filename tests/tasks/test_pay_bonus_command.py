"""`manage.py pay_bonus`: the admin's rules from the command line, on local batches and on the MTurk simulator."""

from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from tasks.models import Assignment, Bonus, Provider
from tasks.providers import get_provider
from tasks.services import publish_batch
from tasks.simulators.mturk.store import Store
from tasks.transitions import transition
from tests.factories import AssignmentFactory, BatchFactory, HitFactory, WorkerFactory
from tests.mturk_sim import accept, make_batch, running_simulator, submit

pytestmark = pytest.mark.django_db


def pay(*args: str) -> str:
    out = StringIO()
    call_command("pay_bonus", *args, stdout=out)
    return out.getvalue()


def _approved(batch=None, status: str = Assignment.Status.APPROVED) -> Assignment:
    hit = HitFactory(batch=batch or BatchFactory(provider=Provider.LOCAL))
    return AssignmentFactory(hit=hit, worker=WorkerFactory(provider=Provider.LOCAL), status=status)


def test_it_pays_one_assignment_once():
    assignment = _approved()
    out = pay("--assignment", str(assignment.pk), "--amount", "0.50", "--reason", "thanks")
    assert f"assignment {assignment.pk}: paid $0.50" in out and "Paid 1 bonuses, $0.50 in all" in out
    again = pay("--assignment", str(assignment.pk), "--amount", "0.50", "--reason", "thanks")
    assert "already paid $0.50" in again and "Paid 0 bonuses, $0.00 in all (1 already paid" in again
    assert Assignment.objects.get(pk=assignment.pk).bonus_paid == Decimal("0.50")


def test_it_pays_every_approved_assignment_of_a_batch_and_prints_the_total():
    batch = BatchFactory(provider=Provider.LOCAL)
    approved = [_approved(batch), _approved(batch)]
    _approved(batch, status=Assignment.Status.SUBMITTED)
    out = pay("--batch", str(batch.pk), "--amount", "0.25", "--reason", "bonus round")
    assert "Paid 2 bonuses, $0.50 in all (0 already paid, 0 refused)." in out
    assert sorted(Bonus.objects.values_list("assignment_id", flat=True)) == [a.pk for a in approved]


def test_it_fails_loudly_when_a_bonus_is_refused():
    batch = BatchFactory(provider=Provider.LOCAL)
    good = _approved(batch)
    blocked = _approved(batch)
    blocked.worker.blocked = True
    blocked.worker.save()
    out = StringIO()
    with pytest.raises(CommandError, match="1 bonuses were not paid"):
        call_command("pay_bonus", "--batch", str(batch.pk), "--amount", "0.25", "--reason", "r", stdout=out)
    assert f"assignment {blocked.pk}: worker {blocked.worker} is blocked" in out.getvalue()
    assert list(Bonus.objects.values_list("assignment_id", flat=True)) == [good.pk]


@pytest.mark.parametrize("args, error", [
    (["--amount", "0"], "must be a positive number"),
    (["--amount", "-0.50"], "must be a positive number"),
    (["--amount", "nan"], "must be a positive number"),
    (["--amount", "ten"], "is not a number"),
    (["--amount", "0.505"], "fractions of a cent"),
    (["--amount", "5.01"], r"above the \$5.00 cap"),
    (["--amount", "0.50", "--reason", "  "], "needs a reason"),
])
def test_it_refuses_bad_terms_without_paying(args, error):
    assignment = _approved()
    full = ["--assignment", str(assignment.pk), "--reason", "thanks", *args]
    with pytest.raises(CommandError, match=error):
        call_command("pay_bonus", *full, stdout=StringIO())
    assert not Bonus.objects.exists()


def test_it_names_what_does_not_exist_or_is_not_approved():
    with pytest.raises(CommandError, match="assignment 999999 does not exist"):
        pay("--assignment", "999999", "--amount", "0.50", "--reason", "r")
    with pytest.raises(CommandError, match="batch 999999 does not exist"):
        pay("--batch", "999999", "--amount", "0.50", "--reason", "r")
    batch = BatchFactory(provider=Provider.LOCAL)
    with pytest.raises(CommandError, match="has no approved assignments"):
        pay("--batch", str(batch.pk), "--amount", "0.50", "--reason", "r")
    submitted = _approved(status=Assignment.Status.SUBMITTED)
    with pytest.raises(CommandError, match="not paid"):
        pay("--assignment", str(submitted.pk), "--amount", "0.50", "--reason", "r")


def test_it_pays_on_the_mturk_simulator_once_even_when_a_payment_was_left_pending(settings, tmp_path):
    state_path = tmp_path / "sim.json"
    with running_simulator(state_path) as url:
        settings.MTURK_ENDPOINT_URL = url
        provider = get_provider("simulator")
        batch = make_batch(hits=1, assignments=1, provider=Provider.SIMULATOR)
        publish_batch(batch, provider)
        hit = batch.hits.get()
        accepted = accept(url, hit.provider_hit_id, "AWORKERBONUS")
        assert submit(url, accepted["assignmentId"])[0] == 200
        assignment = AssignmentFactory(hit=hit, worker=WorkerFactory(provider="simulator", external_id="AWORKERBONUS"),
                                       provider_assignment_id=accepted["assignmentId"])
        provider.approve(transition(assignment, Assignment.Status.SUBMITTED))
        balance = Decimal(Store(state_path).load()["balance"])

        out = pay("--assignment", str(assignment.pk), "--amount", "0.50", "--reason", "great answers")
        assert "paid $0.50" in out
        # A payment whose reply was lost: MTurk paid, our row still says pending and the sender's claim has
        # lapsed. The retry pays nothing more.
        lapsed = timezone.now() - timedelta(hours=1)
        Bonus.objects.update(status=Bonus.Status.PENDING, paid_at=None, attempted_at=lapsed)
        Assignment.objects.filter(pk=assignment.pk).update(bonus_paid=0)
        pay("--assignment", str(assignment.pk), "--amount", "0.50", "--reason", "great answers")
        pay("--assignment", str(assignment.pk), "--amount", "0.50", "--reason", "great answers")

        state = Store(state_path).load()
        assert [(b["WorkerId"], b["BonusAmount"], b["Reason"]) for b in state["bonuses"]] == [
            ("AWORKERBONUS", "0.50", "great answers")]
        assert Decimal(state["balance"]) == balance - Decimal("0.60")  # bonus + 20 % fee
        assert Bonus.objects.get().status == Bonus.Status.PAID
        assert Assignment.objects.get(pk=assignment.pk).bonus_paid == Decimal("0.50")
