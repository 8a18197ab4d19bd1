"""Celery tasks of the model zoo (queue "inference"): thin wrappers taking ids."""

from datetime import timedelta

from celery import current_app, shared_task
from django.conf import settings
from kombu.exceptions import ChannelError

from models_zoo import chunks as services
from models_zoo.registry import RegistryError

MAX_BUSY_RETRIES = 20


@shared_task(bind=True, acks_late=True, max_retries=MAX_BUSY_RETRIES)
def propose_chunk(self, chunk_id: int) -> dict:
    """Run one InferenceChunk; a chunk held by a live worker is retried after its lease."""
    try:
        outcome = services.process_chunk(chunk_id, worker=self.request.hostname or "celery")
    except services.ChunkBusy as busy:
        raise self.retry(countdown=busy.retry_after) from busy
    except RegistryError:
        raise  # configuration (missing weights, bad model): retrying here cannot help
    except Exception as exc:
        raise self.retry(exc=exc, countdown=10, max_retries=services.MAX_ATTEMPTS - 1) from exc
    return outcome.as_dict()


@shared_task(queue="default")
def requeue_lost_chunks() -> list[int]:
    """Beat task: when the inference queue is empty, queue again the open chunks nobody holds.

    This is the recovery from recorded state after a broker restart that lost its queues.
    """
    if _inference_queue_length() > 0:
        return []
    chunk_ids = services.lost_chunk_ids(timedelta(seconds=settings.RELABEL_REQUEUE_MIN_AGE_SECONDS))
    for chunk_id in chunk_ids:
        propose_chunk.delay(chunk_id)
    return chunk_ids


def _inference_queue_length() -> int:
    with current_app.connection_for_read() as connection:
        try:
            return connection.default_channel.queue_declare(queue="inference", passive=True).message_count
        except ChannelError:
            return 0  # the queue does not exist (yet, or any more after a restart)
