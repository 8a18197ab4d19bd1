"""Celery wrappers: the periodic assignment sync and timeouts (CELERY_BEAT_SCHEDULE in settings)."""

import logging

from celery import shared_task

from tasks import services, timeouts
from tasks.models import Batch
from tasks.mturk import MTurkError
from tasks.providers import ProviderError

log = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def sync_batch(batch_id: int) -> None:
    """Sync one batch; safe to re-run (transitions make every approval happen once)."""
    batch = Batch.objects.filter(pk=batch_id).first()
    if batch is None:
        return
    report = services.sync_batch(batch)
    log.info("batch %s synced: %s approved, %s rejected", batch_id, report.approved, report.rejected)


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
