"""The admin for Prolific: the bonus action pays through Prolific, in-doubt bonuses are settled by hand, and
publishing real Prolific studies stays on the command line (typed confirmation)."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from tasks import prolific as api
from tasks.models import Assignment, Bonus, ProlificStudy, Provider
from tasks.services import sync_batch
from tests.factories import UserFactory
from tests.mturk_sim import make_batch
from tests.prolific_sim import finish_session, ledger, sim

pytestmark = pytest.mark.django_db


@pytest.fixture
def ops() -> Client:
    user = UserFactory(username="ops", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=[
        "view_assignment", "change_assignment", "view_bonus", "change_bonus", "view_batch", "change_batch"]))
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def approved(client, prolific, published) -> Assignment:
    finish_session(client, prolific, published, "ula")
    sync_batch(published)
    return Assignment.objects.filter(status=Assignment.Status.APPROVED).order_by("pk").first()


def bonuses(sim_url: str) -> list[dict]:
    return [row for row in ledger(sim_url) if row["kind"] == "bonus"]


def test_the_bonus_action_pays_through_prolific_once(ops, prolific, approved):
    fields = {"action": "pay_bonus", "_selected_action": [approved.pk], "apply": "yes", "amount": "0.30",
              "reason": "careful work"}
    for _ in range(2):
        ops.post("/admin/tasks/assignment/", fields, follow=True)
    assert [row["amount"] for row in bonuses(prolific)] == ["0.30"]


def test_an_in_doubt_bonus_is_settled_by_hand(ops, prolific, provider, approved):
    sim(f"{prolific}/_sim/faults", {"drop": 1, "drop_path": "/api/v1/bulk-bonus-payments/"})
    with pytest.raises(Exception, match="no reply"):
        provider.bonus(approved, Decimal("0.30"), "careful work")
    bonus = Bonus.objects.get()
    ops.post("/admin/tasks/bonus/", {"action": "mark_bonuses_paid", "_selected_action": [bonus.pk]}, follow=True)
    bonus.refresh_from_db()
    assert bonus.status == Bonus.Status.PAID
    assert Assignment.objects.get(pk=approved.pk).bonus_paid == Decimal("0.30")
    ops.post("/admin/tasks/bonus/", {"action": "mark_bonuses_unpaid", "_selected_action": [bonus.pk]}, follow=True)
    assert Bonus.objects.get().status == Bonus.Status.PAID  # only an in-doubt bonus moves


def test_a_bonus_prolific_never_paid_is_released_and_then_paid_once(ops, prolific, provider, approved,
                                                                    monkeypatch):
    def timeout_before_prolific(client, payment_id):
        raise api.ProlificError("no reply (ReadTimeout)", sent=True)

    monkeypatch.setattr(api, "pay_bonus", timeout_before_prolific)
    with pytest.raises(api.ProlificError):
        provider.bonus(approved, Decimal("0.30"), "careful work")
    monkeypatch.undo()
    assert bonuses(prolific) == [] and Bonus.objects.get().status == Bonus.Status.PAYING
    bonus = Bonus.objects.get()
    ops.post("/admin/tasks/bonus/", {"action": "mark_bonuses_unpaid", "_selected_action": [bonus.pk]}, follow=True)
    assert Bonus.objects.get().status == Bonus.Status.PENDING
    provider.bonus(approved, Decimal("0.30"), "careful work")
    provider.bonus(approved, Decimal("0.30"), "careful work")
    assert len(bonuses(prolific)) == 1 and Bonus.objects.get().status == Bonus.Status.PAID


def test_the_admin_does_not_publish_real_prolific_studies(ops):
    batch = make_batch(hits=1, provider=Provider.PROLIFIC)
    response = ops.post("/admin/tasks/batch/", {"action": "publish_batches", "_selected_action": [batch.pk]},
                        follow=True)
    assert any("publish_hits --target prolific" in str(m) for m in response.context["messages"])
    assert not ProlificStudy.objects.exists()
