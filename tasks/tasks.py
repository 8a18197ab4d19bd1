"""Celery wrappers: the periodic assignment sync and timeouts (CELERY_BEAT_SCHEDULE in settings), adaptive top-ups."""

import logging

from celery import shared_task
from django.conf import settings

from annotation.models import Dataset
from tasks import services, timeouts
from tasks.models import Batch
from tasks.mturk import MTurkError
from tasks.providers import ProviderError
from tasks.top_up import TopUpError, top_up

log = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def sync_batch(batch_id: int) -> None:
    """Sync one batch; safe to re-run (transitions make every approval happen once)."""
    batch = Batch.objects.filter(pk=batch_id).first()
    if batch is None:
        return
    report = services.sync_batch(batch)
    log.info("batch %s synced: %s approved, %s rejected", batch_id, report.approved, report.rejected)
    if settings.RELABEL_TOP_UP_AFTER_SYNC and "adaptive" in batch.options:
        top_up_task.delay(batch.dataset_id, batch.kind)


@shared_task(ignore_result=True)
def top_up_task(dataset_id: int, kind: str) -> None:
    """Build draft HITs for the undecided items of an adaptive run; a repeat creates nothing twice.

    Nothing is published here: publishing spends money and stays a deliberate step (publish_hits).
    """
    dataset = Dataset.objects.filter(pk=dataset_id).first()
    if dataset is None:
        return
    try:
        result = top_up(dataset, kind)
    except TopUpError as exc:
        log.warning("top-up of dataset %s %s: %s", dataset_id, kind, exc)
        return
    log.info("top-up of dataset %s: %s; %d batches", dataset_id, result.plan.summary(), len(result.builds))


@shared_task(ignore_result=True)
def sync_published_batches() -> None:
    """Periodic: sync every published batch; one failing batch does not stop the others."""
    for batch_id in services.batches_to_sync():
        try:
            sync_batch(batch_id)
        except (ProviderError, MTurkError):
            log.exception("sync of batch %s failed", batch_id)


@shared_task(ignore_result=True)
def abandon_overdue_assignments() -> None:
    """Periodic: free the places of accepted assignments past their deadline; safe to re-run."""
    abandoned = timeouts.abandon_overdue()
    if abandoned:
        log.info("%s overdue assignments abandoned", abandoned)
