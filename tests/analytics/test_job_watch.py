"""watch_jobs follows a candidates job's chunks (no worker waits on them) and finishes it exactly once."""

from datetime import timedelta

import pytest
from django.utils import timezone

from analytics import jobs
from analytics.models import JobRun
from models_zoo.models import ChunkStatus, InferenceChunk
from tests.factories import DatasetFactory, ImageFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def waiting_job():
    dataset = DatasetFactory(name="watched")
    images = [ImageFactory(dataset=dataset, file=f"images/{i}.jpg").pk for i in range(4)]
    chunks = [InferenceChunk.objects.create(dataset=dataset, model_names=["m"], topk=5, image_ids=ids)
              for ids in (images[:2], images[2:])]
    long_ago = timezone.now() - timedelta(hours=1)
    job = JobRun.objects.create(dataset=dataset, kind=JobRun.Kind.CANDIDATES, status=JobRun.Status.RUNNING,
                                started_at=long_ago, heartbeat_at=long_ago, chunk_ids=[c.pk for c in chunks])
    return job, chunks


def test_it_reports_progress_and_keeps_a_waiting_job_alive(waiting_job):
    job, chunks = waiting_job
    InferenceChunk.objects.filter(pk=chunks[0].pk).update(status=ChunkStatus.DONE)
    assert jobs.watch_jobs() == 0
    job.refresh_from_db()
    assert job.status == JobRun.Status.RUNNING and job.message == "2/4 images through the models"
    assert job.progress == pytest.approx(0.5) and timezone.now() - job.heartbeat_at < timedelta(minutes=1)
    assert jobs.fail_stale_jobs() == 0  # the watcher is its sign of life


def test_it_finishes_the_job_once_no_chunk_is_open(waiting_job):
    job, _ = waiting_job
    InferenceChunk.objects.filter(dataset=job.dataset).update(status=ChunkStatus.DONE)
    assert jobs.watch_jobs() == 1
    assert jobs.watch_jobs() == 0  # finished once
    job.refresh_from_db()
    assert (job.status, job.progress) == (JobRun.Status.DONE, 1.0)
    assert job.message.startswith("0/4 images have candidates") and job.finished_at is not None


def test_it_fails_the_job_with_the_first_chunk_error(waiting_job):
    job, chunks = waiting_job
    InferenceChunk.objects.filter(dataset=job.dataset).update(status=ChunkStatus.DONE)
    InferenceChunk.objects.filter(pk=chunks[1].pk).update(status=ChunkStatus.FAILED, error="weights missing")
    jobs.watch_jobs()
    job.refresh_from_db()
    assert job.status == JobRun.Status.FAILED and job.message == "1 of 2 chunks failed, first with: weights missing"
