"""Long jobs launched from the dashboard: a JobRun row records them, a Celery task runs them.

`execute` claims the job (UPDATE ... WHERE status='queued'), so a redelivered task does nothing.
"""

import logging
from collections.abc import Callable

from django.core.management import call_command, get_commands
from django.db import transaction
from django.utils import timezone

from analytics.models import JobRun
from analytics.services import aggregate_dataset
from annotation.models import Dataset

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


def _run_candidates(job: JobRun, progress: Callable[[float, str], None]) -> str:
    if "propose_candidates" not in get_commands():
        raise JobError("the propose_candidates command is not installed (models_zoo)")
    progress(0.05, "proposing candidates")
    call_command("propose_candidates", dataset=job.dataset.name, sync=True)
    return "candidates proposed"


RUNNERS: dict[str, Callable[[JobRun, Callable[[float, str], None]], str]] = {
    JobRun.Kind.AGGREGATE: _run_aggregate,
    JobRun.Kind.CANDIDATES: _run_candidates,
}


def execute(job_id: int) -> bool:
    """Run a queued job; False when another worker already claimed it. A failure is recorded on
    the JobRun (status failed, the error as message) and logged, not re-raised: the dashboard shows it."""
    claimed = JobRun.objects.filter(pk=job_id, status=JobRun.Status.QUEUED).update(
        status=JobRun.Status.RUNNING, started_at=timezone.now()
    )
    if claimed != 1:
        return False
    job = JobRun.objects.select_related("dataset").get(pk=job_id)
    try:
        message = RUNNERS[job.kind](job, lambda p, m: _update(job_id, progress=p, message=m))
    except Exception as exc:
        logger.exception("job %s failed", job_id)
        _update(job_id, status=JobRun.Status.FAILED, message=str(exc)[:2000], finished_at=timezone.now())
        return True
    _update(job_id, status=JobRun.Status.DONE, progress=1.0, message=message, finished_at=timezone.now())
    return True
