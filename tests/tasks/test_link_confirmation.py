"""Link studies: a typed participant id starts unconfirmed work; the platform's export confirms or discards it."""

import pytest

from tasks.models import Assignment
from tasks.providers import get_provider
from tasks.providers.link import LinkProvider, completion_code
from tasks.quality import counted
from tasks.services import publish_batch
from tasks.transitions import transition
from tests.mturk_sim import make_batch

pytestmark = pytest.mark.django_db
Confirmation = Assignment.Confirmation


@pytest.fixture
def batch(settings):
    settings.RELABEL_PUBLIC_BASE_URL = "https://relabel.example"
    batch = make_batch(hits=2, assignments=3)
    publish_batch(batch, get_provider("link"))
    return batch


def _submitted(client, batch, participant: str) -> Assignment:
    assert client.get(f"/link/{batch.pk}/start/", {"PROLIFIC_PID": participant}).status_code == 302
    assignment = Assignment.objects.get(worker__external_id=participant)
    assert assignment.confirmation == Confirmation.UNCONFIRMED
    return transition(assignment, Assignment.Status.SUBMITTED)


def test_it_confirms_participants_of_the_export_and_discards_the_ones_it_never_mentions(client, batch):
    real, typo, invented = (_submitted(client, batch, p) for p in ("PREAL", "PTYPO", "PINVENTED"))
    code = completion_code(batch)
    report = LinkProvider().reconcile(batch, [("PREAL", code), ("PTYPO", "WRONG")])
    assert (report.confirmed, report.discarded, report.wrong_code) == (["PREAL"], ["PINVENTED"], ["PTYPO"])
    states = dict(Assignment.objects.values_list("pk", "confirmation"))
    assert states == {real.pk: Confirmation.CONFIRMED, typo.pk: Confirmation.UNCONFIRMED,
                      invented.pk: Confirmation.DISCARDED}
    assert list(Assignment.objects.filter(counted()).values_list("pk", flat=True)) == [real.pk]
    again = LinkProvider().reconcile(batch, [("PREAL", code), ("PTYPO", "WRONG")])
    assert (again.confirmed, again.discarded) == ([], [])
