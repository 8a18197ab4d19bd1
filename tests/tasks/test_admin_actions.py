"""The crowd admin actions, driven through the admin: each counts what it did and names each failure."""

import pytest
from django.contrib.messages import get_messages

from tasks.models import Assignment, Batch, Hit, Provider, Worker
from tasks.transitions import transition
from tests.factories import AssignmentFactory, BatchFactory, HitFactory, UserFactory, WorkerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(username="crowd-admin", is_staff=True, is_superuser=True))
    return client


def act(client, model: str, action: str, objects) -> list[str]:
    response = client.post(f"/admin/tasks/{model}/", {"action": action, "_selected_action": [o.pk for o in objects]})
    return [str(message) for message in get_messages(response.wsgi_request)]


def test_publish_counts_published_hits_and_refuses_production_from_the_admin(admin_client):
    local = BatchFactory(provider=Provider.LOCAL)
    HitFactory.create_batch(2, batch=local)
    production = BatchFactory(provider=Provider.MTURK)
    HitFactory(batch=production)
    messages = act(admin_client, "batch", "publish_batches", [local, production])
    assert "2 HITs published." in messages
    assert f"batch {production.pk}: publish to production with `manage.py publish_hits --production`" in messages
    assert list(Hit.objects.filter(batch=production).values_list("status", flat=True)) == [Hit.Status.DRAFT]


def test_expire_counts_the_hits_it_stopped(admin_client):
    batch = BatchFactory(provider=Provider.LOCAL)
    HitFactory.create_batch(3, batch=batch)
    assert "3 HITs expired." in act(admin_client, "batch", "expire_batches", [batch])
    assert Batch.objects.get(pk=batch.pk).status == Batch.Status.EXPIRED


def test_approve_names_each_assignment_it_could_not_approve(admin_client):
    batch = BatchFactory(provider=Provider.LOCAL)
    submitted = AssignmentFactory(hit=HitFactory(batch=batch), worker=WorkerFactory(provider=Provider.LOCAL))
    transition(submitted, Assignment.Status.SUBMITTED)
    in_progress = AssignmentFactory(hit=HitFactory(batch=batch), worker=WorkerFactory(provider=Provider.LOCAL))
    messages = act(admin_client, "assignment", "approve_assignments", [submitted, in_progress])
    assert "1 assignments approved." in messages
    assert any(message.startswith(f"assignment {in_progress.pk}: ") for message in messages)
    assert Assignment.objects.get(pk=submitted.pk).status == Assignment.Status.APPROVED


def test_block_and_unblock_workers(admin_client):
    workers = WorkerFactory.create_batch(2, provider=Provider.LOCAL)
    assert "2 workers blocked." in act(admin_client, "worker", "block_workers", workers)
    assert set(Worker.objects.values_list("blocked", flat=True)) == {True}
    assert "2 workers unblocked." in act(admin_client, "worker", "unblock_workers", workers)
    assert set(Worker.objects.values_list("blocked", flat=True)) == {False}
