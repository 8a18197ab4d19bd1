"""Long jobs launched from the dashboard: a JobRun row records them, a Celery task runs them.

`execute` claims the job (UPDATE ... WHERE status='queued'), so a redelivered task does nothing.
While it runs, a heartbeat thread stamps the row; a running job whose heartbeat went silent (its
worker was killed) is marked failed by `fail_stale_jobs`, which the dashboard calls when it shows jobs.

A candidates job on Celery does not wait for its inference chunks in a worker: it queues them, records
their ids and returns, and `watch_jobs` (a beat task, every RELABEL_JOB_WATCH_SECONDS) reports their
progress, queues again a chunk whose worker died (its lease expired), stamps the job's heartbeat and
finishes the job once no chunk of the dataset is open. So no worker slot is held while inference runs,
and recovery never queues behind a waiting job.
"""

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from analytics.models import JobRun
from analytics.services import aggregate_dataset
from annotation.models import Dataset
from models_zoo import chunks as proposals
from models_zoo.models import ChunkStatus, InferenceChunk

REQUEUED_MARK = "requeued by watch_jobs"  # claimed_by of an abandoned chunk queued again
HEARTBEAT_SECONDS = 30.0
STALE_AFTER = timedelta(seconds=4 * HEARTBEAT_SECONDS)
logger = logging.getLogger(__name__)


class JobError(Exception):
    pass


def start_job(dataset: Dataset, kind: str, user_id: int | None) -> JobRun:
    """Record a queued job and enqueue its task once the transaction commits."""
    from analytics.tasks import run_job

    if kind not in JobRun.Kind.values:
        raise JobError(f"unknown job {kind!r}: choose one of {', '.join(JobRun.Kind.values)}")
    job = JobRun.objects.create(dataset=dataset, kind=kind, created_by_id=user_id)
    transaction.on_commit(lambda: run_job.delay(job.pk))
    return job


def _update(job_id: int, **fields) -> None:
    JobRun.objects.filter(pk=job_id).update(**fields)


def _run_aggregate(job: JobRun, progress: Callable[[float, str], None]) -> str:
    progress(0.1, "aggregating judgments")
    summary = aggregate_dataset(job.dataset)
    return f"{summary.pairs} selection frequencies, {summary.classify_results} CLASSIFY results"


def _run_candidates(job: JobRun, progress: Callable[[float, str], None]) -> str | None:
    """`propose_candidates --dataset D` with every registered model: inline where Celery is eager
    (the embedded set-up), otherwise one task per chunk on the inference queue, followed by watch_jobs."""
    plan = proposals.plan_proposal(job.dataset)
    if not plan.chunk_ids:
        return f"no image needs candidates ({plan.images_without_file} images have no file)"
    total = max(plan.images_to_process, 1)

    def report(done: int) -> None:
        progress(0.05 + 0.9 * done / total, f"{done}/{total} images through the models")

    if not settings.CELERY_TASK_ALWAYS_EAGER:
        _queue_chunks(job.pk, plan.chunk_ids)
        report(0)
        return None  # watch_jobs reports progress and finishes the job
    proposals.check_weights(None)  # when it fails, the planned chunks stay open for the next run
    _run_inline(job.pk, plan.chunk_ids, report)
    return _candidates_outcome(job.dataset, plan.chunk_ids, plan.images_without_file)


def _candidates_outcome(dataset: Dataset, chunk_ids: list[int], images_without_file: int) -> str:
    """The finished job's message; JobError if any of its chunks failed."""
    summary = proposals.proposal_summary(dataset, chunk_ids)
    failed = list(InferenceChunk.objects.filter(pk__in=chunk_ids, status=ChunkStatus.FAILED)
                  .values_list("error", flat=True))
    if failed:
        raise JobError(f"{len(failed)} of {len(chunk_ids)} chunks failed, first with: {failed[0]}")
    return (f"{summary.images_with_candidates}/{summary.images} images have candidates, {summary.candidates} "
            f"candidate labels; {images_without_file} images have no file")


def _run_inline(job_id: int, chunk_ids: list[int], report: Callable[[int], None]) -> None:
    done = 0
    for chunk_id in chunk_ids:
        done += proposals.process_chunk(chunk_id, worker=f"job-{job_id}").images
        report(done)


def _queue_chunks(job_id: int, chunk_ids: list[int]) -> None:
    from models_zoo.tasks import propose_chunk

    _update(job_id, chunk_ids=chunk_ids)
    for chunk_id in chunk_ids:
        propose_chunk.delay(chunk_id)


# A runner returns the finished job's message, or None when watch_jobs is to finish the job.
RUNNERS: dict[str, Callable[[JobRun, Callable[[float, str], None]], str | None]] = {
    JobRun.Kind.AGGREGATE: _run_aggregate,
    JobRun.Kind.CANDIDATES: _run_candidates,
}


def execute(job_id: int) -> bool:
    """Run a queued job; False when another worker already claimed it. A failure is recorded on
    the JobRun (status failed, the error as message) and logged, not re-raised: the dashboard shows it."""
    now = timezone.now()
    claimed = JobRun.objects.filter(pk=job_id, status=JobRun.Status.QUEUED).update(
        status=JobRun.Status.RUNNING, started_at=now, heartbeat_at=now
    )
    if claimed != 1:
        return False
    job = JobRun.objects.select_related("dataset").get(pk=job_id)
    try:
        with _heartbeat(job_id):
            message = RUNNERS[job.kind](job, lambda p, m: _update(job_id, progress=p, message=m))
    except Exception as exc:
        logger.exception("job %s failed", job_id)
        _update(job_id, status=JobRun.Status.FAILED, message=str(exc)[:2000], finished_at=timezone.now())
        return True
    if message is not None:
        _update(job_id, status=JobRun.Status.DONE, progress=1.0, message=message, finished_at=timezone.now())
    return True


@contextmanager
def _heartbeat(job_id: int) -> Iterator[None]:
    """Stamp the running job every HEARTBEAT_SECONDS from a thread that dies with the worker."""
    stop = threading.Event()

    def beat() -> None:
        try:
            while not stop.wait(HEARTBEAT_SECONDS):
                JobRun.objects.filter(pk=job_id, status=JobRun.Status.RUNNING).update(heartbeat_at=timezone.now())
        finally:
            connection.close()

    thread = threading.Thread(target=beat, name=f"job-{job_id}-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def fail_stale_jobs() -> int:
    """Mark failed the running jobs whose heartbeat stopped (their worker died); returns how many."""
    silent_since = timezone.now() - STALE_AFTER
    return JobRun.objects.filter(status=JobRun.Status.RUNNING, heartbeat_at__lt=silent_since).update(
        status=JobRun.Status.FAILED,
        finished_at=timezone.now(),
        message=f"the worker running this job stopped (no sign of life for {STALE_AFTER.seconds} s): start it again",
    )


def watch_jobs() -> int:
    """One pass over the candidates jobs waiting on their chunks (see the module's docstring); returns
    how many it finished. Safe to run concurrently or twice: finishing is a conditional UPDATE."""
    waiting = JobRun.objects.filter(kind=JobRun.Kind.CANDIDATES, status=JobRun.Status.RUNNING,
                                    chunk_ids__isnull=False).select_related("dataset")
    return sum(_watch(job) for job in waiting)


def _watch(job: JobRun) -> bool:
    from models_zoo.tasks import propose_chunk

    now = timezone.now()
    chunks = InferenceChunk.objects.filter(pk__in=job.chunk_ids)
    # A chunk whose lease expired lost its worker: queue it once more (marked, so that the next passes do
    # not queue it again while it waits in the queue); the claim lets exactly one new worker in.
    abandoned = InferenceChunk.objects.filter(status=ChunkStatus.RUNNING, lease_until__lt=now).exclude(
        claimed_by=REQUEUED_MARK)
    for chunk_id in abandoned.filter(pk__in=job.chunk_ids).values_list("pk", flat=True):
        if abandoned.filter(pk=chunk_id).update(claimed_by=REQUEUED_MARK):
            propose_chunk.delay(chunk_id)
    if InferenceChunk.objects.filter(dataset=job.dataset, status__in=proposals.OPEN_STATUSES).exists():
        finished = chunks.filter(status__in=[ChunkStatus.DONE, ChunkStatus.FAILED]).values_list("image_ids", flat=True)
        done, total = sum(map(len, finished)), max(sum(map(len, chunks.values_list("image_ids", flat=True))), 1)
        JobRun.objects.filter(pk=job.pk, status=JobRun.Status.RUNNING).update(
            heartbeat_at=now, progress=0.05 + 0.9 * done / total, message=f"{done}/{total} images through the models")
        return False
    try:
        fields = {"status": JobRun.Status.DONE, "progress": 1.0, "message": _candidates_outcome(
            job.dataset, job.chunk_ids, job.dataset.images.filter(file="").count())}
    except JobError as exc:
        fields = {"status": JobRun.Status.FAILED, "message": str(exc)[:2000]}
    return JobRun.objects.filter(pk=job.pk, status=JobRun.Status.RUNNING).update(
        finished_at=timezone.now(), **fields) == 1
