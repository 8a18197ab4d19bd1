"""Celery tasks of the model zoo (queue "inference"): thin wrappers taking ids."""

from celery import shared_task

from models_zoo import services
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
