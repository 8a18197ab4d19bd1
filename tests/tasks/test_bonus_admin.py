"""The admin's "Pay a bonus…" action: a form page first, each selected assignment paid once, clear refusals."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from tasks.models import Assignment, Bonus, Provider
from tests.factories import AssignmentFactory, BatchFactory, HitFactory, UserFactory, WorkerFactory

pytestmark = pytest.mark.django_db
CHANGELIST = "/admin/tasks/assignment/"


def _staff(*codenames: str) -> Client:
    user = UserFactory(username="ops", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def ops() -> Client:
    return _staff("view_assignment", "change_assignment")


def _approved(**worker) -> Assignment:
    hit = HitFactory(batch=BatchFactory(provider=Provider.LOCAL))
    return AssignmentFactory(hit=hit, worker=WorkerFactory(provider=Provider.LOCAL, **worker),
                             status=Assignment.Status.APPROVED)


def _pay(client: Client, assignments: list[Assignment], **form):
    fields = {"action": "pay_bonus", "_selected_action": [a.pk for a in assignments], "apply": "yes",
              "amount": "0.50", "reason": "careful work, thank you", **form}
    return client.post(CHANGELIST, fields, follow=True)


def _messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def test_it_asks_for_the_amount_and_reason_before_paying(ops):
    assignment = _approved()
    page = ops.post(CHANGELIST, {"action": "pay_bonus", "_selected_action": [assignment.pk]})
    html = page.content.decode()
    assert page.status_code == 200
    assert 'name="amount"' in html and 'name="reason"' in html and "will be paid" in html
    assert not Bonus.objects.exists()


def test_it_pays_each_selected_assignment_once_and_a_resubmitted_form_pays_nothing_more(ops):
    first, second = _approved(), _approved()
    response = _pay(ops, [first, second])
    assert "2 bonuses paid ($1.00)." in _messages(response)
    again = _pay(ops, [first, second], reason="  careful work, thank you ")
    assert "0 bonuses paid ($0.00)." in _messages(again)
    assert f"Already paid with this amount and reason, not paid again: assignment {first.pk}, {second.pk}." in (
        _messages(again))
    assert Bonus.objects.filter(status=Bonus.Status.PAID).count() == 2
    assert set(Assignment.objects.values_list("bonus_paid", flat=True)) == {Decimal("0.50")}


@pytest.mark.parametrize("amount, reason, error", [
    ("0", "thanks", "Ensure this value is greater than or equal to 0.01."),
    ("-1", "thanks", "Ensure this value is greater than or equal to 0.01."),
    ("0.505", "thanks", "Ensure that there are no more than 2 decimal places."),
    ("lots", "thanks", "Enter a number."),
    ("5.01", "thanks", "bonus $5.01 is above the $5.00 cap per payment (setting RELABEL_MAX_BONUS)"),
    ("0.50", "   ", "This field is required."),
])
def test_it_shows_what_is_wrong_with_the_amount_or_reason_and_pays_nothing(ops, amount, reason, error):
    assignment = _approved()
    page = _pay(ops, [assignment], amount=amount, reason=reason)
    assert page.status_code == 200 and error in page.content.decode()
    assert not Bonus.objects.exists()


def test_the_cap_is_a_setting(ops, settings):
    settings.RELABEL_MAX_BONUS = Decimal("1.00")
    page = _pay(ops, [_approved()], amount="1.50")
    assert "above the $1.00 cap" in page.content.decode() and not Bonus.objects.exists()


def test_it_says_why_work_that_is_not_approved_or_by_a_blocked_worker_gets_nothing(ops):
    submitted = AssignmentFactory(hit=HitFactory(batch=BatchFactory(provider=Provider.LOCAL)),
                                  status=Assignment.Status.SUBMITTED)
    blocked = _approved(blocked=True)
    imported = AssignmentFactory(hit=HitFactory(batch=BatchFactory(provider=Provider.IMPORT)),
                                 status=Assignment.Status.APPROVED)
    good = _approved()
    form = ops.post(CHANGELIST, {"action": "pay_bonus", "_selected_action": [submitted.pk, blocked.pk, good.pk]})
    assert "only approved work gets a bonus" in form.content.decode()
    messages = _messages(_pay(ops, [submitted, blocked, imported, good]))
    assert "1 bonuses paid ($0.50)." in messages
    assert f"assignment {submitted.pk}: it is submitted: only approved work gets a bonus" in messages
    assert f"assignment {blocked.pk}: worker {blocked.worker} is blocked: unblock them first to pay a bonus" in messages
    assert any(m.startswith(f"assignment {imported.pk}: its batch") and "no platform" in m for m in messages)
    assert list(Bonus.objects.values_list("assignment_id", flat=True)) == [good.pk]


def test_view_only_staff_cannot_pay_a_bonus():
    client = _staff("view_assignment")
    assignment = _approved()
    assert "pay_bonus" not in client.get(CHANGELIST).content.decode()
    response = _pay(client, [assignment])
    assert response.status_code == 200 and "Pay the bonuses" not in response.content.decode()
    assert not Bonus.objects.exists()
    assert Assignment.objects.get(pk=assignment.pk).bonus_paid == 0
