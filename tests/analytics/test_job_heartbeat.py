"""A dashboard job whose worker died does not stay "running" forever."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from analytics import jobs
from analytics.models import JobRun
from tests.factories import DatasetFactory, UserFactory


def running_job(silent_for: timedelta) -> JobRun:
    now = timezone.now()
    return JobRun.objects.create(
        dataset=DatasetFactory(name="jobs"), kind=JobRun.Kind.AGGREGATE, status=JobRun.Status.RUNNING,
        started_at=now - silent_for, heartbeat_at=now - silent_for,
    )


@pytest.mark.django_db
def test_a_job_whose_heartbeat_stopped_is_marked_failed_and_a_live_one_is_not():
    dead = running_job(jobs.STALE_AFTER + timedelta(seconds=1))
    alive = running_job(timedelta(seconds=5))
    assert jobs.fail_stale_jobs() == 1
    dead.refresh_from_db()
    alive.refresh_from_db()
    assert dead.status == JobRun.Status.FAILED and "start it again" in dead.message
    assert alive.status == JobRun.Status.RUNNING


@pytest.mark.django_db
def test_the_job_status_endpoint_reports_a_dead_job_as_failed(client):
    dead = running_job(jobs.STALE_AFTER * 2)
    client.force_login(UserFactory(username="staff-jobs", is_staff=True))
    assert client.get(f"/dashboard/jobs/{dead.pk}/").json()["status"] == "failed"


@pytest.mark.django_db(transaction=True)
def test_a_running_job_keeps_its_heartbeat_fresh(monkeypatch):
    monkeypatch.setattr(jobs, "HEARTBEAT_SECONDS", 0.05)
    beats: list = []

    def slow_runner(job, progress):
        time.sleep(0.4)
        beats.append(JobRun.objects.get(pk=job.pk).heartbeat_at)
        return "done slowly"

    monkeypatch.setitem(jobs.RUNNERS, JobRun.Kind.AGGREGATE, slow_runner)
    job = JobRun.objects.create(dataset=DatasetFactory(name="beats"), kind=JobRun.Kind.AGGREGATE)
    assert jobs.execute(job.pk) is True
    job.refresh_from_db()
    assert job.status == JobRun.Status.DONE
    assert beats[0] > job.started_at
