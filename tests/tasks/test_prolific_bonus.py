"""Prolific bonuses: set up, persist the payment id, claim, pay once — across lost replies, crashes, retries, days."""

import threading
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection

from tasks import prolific as api
from tasks.models import Assignment, Bonus
from tasks.providers import ProviderError, get_provider
from tasks.services import pay_bonuses, sync_batch
from tests.prolific_sim import finish_session, ledger, sim

pytestmark = pytest.mark.django_db


@pytest.fixture
def approved(client, prolific, published) -> Assignment:
    finish_session(client, prolific, published, "rae")
    sync_batch(published)
    return Assignment.objects.filter(status=Assignment.Status.APPROVED).order_by("pk").first()


def bonuses_paid(sim_url: str) -> list[dict]:
    return [row for row in ledger(sim_url) if row["kind"] == "bonus"]


def test_it_pays_a_bonus_once_with_its_fee(prolific, provider, approved):
    bonus = provider.bonus(approved, Decimal("0.50"), "careful work")
    assert bonus.status == Bonus.Status.PAID and bonus.provider_payment_id
    assert provider.bonus(approved, Decimal("0.50"), "careful work").pk == bonus.pk
    assert [row["amount"] for row in bonuses_paid(prolific)] == ["0.50"]
    assert Assignment.objects.get(pk=approved.pk).bonus_paid == Decimal("0.50")


def test_a_lost_reply_to_pay_is_never_paid_again_even_a_day_later(prolific, provider, approved):
    sim(f"{prolific}/_sim/faults", {"drop": 1, "drop_path": "/api/v1/bulk-bonus-payments/"})
    with pytest.raises(ProviderError, match="no reply"):
        provider.bonus(approved, Decimal("0.50"), "careful work")
    assert Bonus.objects.get().status == Bonus.Status.PAYING
    for _ in range(2):
        with pytest.raises(ProviderError, match="never sent again"):
            provider.bonus(approved, Decimal("0.50"), "careful work")
    sim(f"{prolific}/_sim/clock", {"advance_seconds": 24 * 3600})
    with pytest.raises(ProviderError, match="never sent again"):
        get_provider("prolific-sim").bonus(approved, Decimal("0.50"), "careful work")
    assert len(bonuses_paid(prolific)) == 1


def test_a_crash_after_set_up_pays_the_stored_payment_once(prolific, provider, approved, monkeypatch):
    def crash(client, payment_id):
        raise SystemExit("the worker died before calling pay")

    monkeypatch.setattr(api, "pay_bonus", crash)
    with pytest.raises(SystemExit):
        provider.bonus(approved, Decimal("0.50"), "careful work")
    stored = Bonus.objects.get()
    assert stored.provider_payment_id and stored.status == Bonus.Status.PAYING  # claimed, then died: in doubt
    monkeypatch.undo()
    with pytest.raises(ProviderError, match="never sent again"):
        provider.bonus(approved, Decimal("0.50"), "careful work")
    assert bonuses_paid(prolific) == []


def test_a_payment_prolific_refused_goes_back_to_pending_and_is_paid_once_later(prolific, provider, approved):
    sim(f"{prolific}/_sim/faults", {"throttle": 10})  # more 429s than the client retries
    with pytest.raises(ProviderError, match="throttling"):
        provider.bonus(approved, Decimal("0.50"), "careful work")
    assert Bonus.objects.get().status == Bonus.Status.PENDING
    sim(f"{prolific}/_sim/faults", {"throttle": 0})
    assert provider.bonus(approved, Decimal("0.50"), "careful work").status == Bonus.Status.PAID
    assert len(bonuses_paid(prolific)) == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL only: runs in the PostgreSQL pass")
@pytest.mark.django_db(transaction=True)
def test_concurrent_workers_pay_once(prolific, published, client):
    finish_session(client, prolific, published, "sam")
    sync_batch(published)
    assignment = Assignment.objects.filter(status=Assignment.Status.APPROVED).first()
    outcomes: list[str] = []

    def pay() -> None:
        try:
            outcomes.append(get_provider("prolific-sim").bonus(assignment, Decimal("0.50"), "careful work").status)
        except ProviderError as exc:
            outcomes.append(str(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=pay) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(bonuses_paid(prolific)) == 1 and Bonus.Status.PAID in outcomes


def test_pay_bonus_command_and_service_pay_prolific(prolific, published, approved):
    out = StringIO()
    call_command("pay_bonus", batch=published.pk, amount="0.25", reason="thanks", stdout=out)
    assert "Paid 2 bonuses" in out.getvalue()
    report = pay_bonuses([approved], "0.25", "thanks")
    assert len(report.already_paid) == 1 and len(bonuses_paid(prolific)) == 2
