"""MTurk sync settles confirmations: what the HIT's assignment list shows counts, what it never shows is discarded."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tasks.models import Assignment, AssignmentTransition
from tasks.providers import get_provider
from tasks.quality import counted
from tasks.services import publish_batch, sync_batch
from tests.integrity import page_config
from tests.mturk_sim import accept, make_batch, running_simulator, submit

pytestmark = pytest.mark.django_db
Confirmation = Assignment.Confirmation


@pytest.fixture
def sim(settings, tmp_path):
    with running_simulator(tmp_path / "sim.json") as url:
        settings.MTURK_ENDPOINT_URL = url
        yield url


def _work(client, hit, assignment_id: str, worker_id: str) -> Assignment:
    """Open the HIT page as that assignment and submit every image as selected."""
    page = client.get(f"/hit/{hit.pk}/", {"assignmentId": assignment_id, "workerId": worker_id})
    assert page.status_code == 200
    images = list(hit.items.values_list("image_id", flat=True))
    body = {"token": page_config(page.content.decode())["token"], "selected": images}
    assert client.post(f"/hit/{hit.pk}/submit/", body, content_type="application/json").status_code == 200
    return Assignment.objects.get(provider_assignment_id=assignment_id)


def test_it_confirms_listed_work_and_discards_invented_work_past_its_deadline(client, sim):
    batch = make_batch(hits=1, assignments=3)
    publish_batch(batch, get_provider("simulator"))
    hit = batch.hits.get()
    real_id = accept(sim, hit.provider_hit_id, "AREAL")["assignmentId"]
    real = _work(client, hit, real_id, "AREAL")
    assert submit(sim, real_id)[0] == 200
    old_fake = _work(client, hit, "INVENTED-OLD", "AFAKE1")
    Assignment.objects.filter(pk=old_fake.pk).update(accepted_at=timezone.now() - timedelta(hours=2))
    new_fake = _work(client, hit, "INVENTED-NEW", "AFAKE2")
    assert not Assignment.objects.filter(counted()).exists()  # nothing counts before the platform spoke

    sync_batch(batch)
    states = dict(Assignment.objects.values_list("pk", "confirmation"))
    assert states == {real.pk: Confirmation.CONFIRMED, old_fake.pk: Confirmation.DISCARDED,
                      new_fake.pk: Confirmation.UNCONFIRMED}
    assert list(Assignment.objects.filter(counted()).values_list("pk", flat=True)) == [real.pk]
    history = AssignmentTransition.objects.count()
    sync_batch(batch)
    assert AssignmentTransition.objects.count() == history  # settled once
