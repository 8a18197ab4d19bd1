from datetime import timedelta

import pytest
from django.utils import timezone

from models_zoo import chunks
from models_zoo.models import ChunkStatus, InferenceChunk
from tests.factories import DatasetFactory

pytestmark = pytest.mark.django_db


def _chunk(**fields) -> InferenceChunk:
    return InferenceChunk.objects.create(
        dataset=DatasetFactory(), model_names=["efficientnet_lite0"], topk=5, image_ids=[1, 2], **fields
    )


def test_it_claims_a_pending_chunk_once():
    chunk = _chunk()
    token = chunks.claim_chunk(chunk.pk, "w1")
    chunk.refresh_from_db()
    assert token and chunk.status == ChunkStatus.RUNNING and chunk.claimed_by == "w1" and chunk.attempts == 1
    with pytest.raises(chunks.ChunkBusy) as busy:
        chunks.claim_chunk(chunk.pk, "w2")
    assert busy.value.retry_after > 1


def test_it_lets_another_worker_take_over_after_the_lease_expires():
    chunk = _chunk(status=ChunkStatus.RUNNING, claimed_by="dead", claim_token="old", attempts=1,
                   lease_until=timezone.now() - timedelta(seconds=1))
    token = chunks.claim_chunk(chunk.pk, "w2")
    chunk.refresh_from_db()
    assert token != "old" and chunk.claimed_by == "w2" and chunk.attempts == 2
    assert not chunks.renew_lease(chunk.pk, "old")
    assert chunks.renew_lease(chunk.pk, token)


def test_it_skips_finished_chunks():
    assert chunks.claim_chunk(_chunk(status=ChunkStatus.DONE).pk, "w1") == ""
    assert chunks.claim_chunk(_chunk(status=ChunkStatus.FAILED).pk, "w1") == ""


def test_it_releases_after_an_error_and_fails_after_the_last_attempt():
    chunk = _chunk()
    for attempt in range(1, chunks.MAX_ATTEMPTS + 1):
        token = chunks.claim_chunk(chunk.pk, "w1")
        chunks.release_chunk(chunk.pk, token, "boom")
        chunk.refresh_from_db()
        expected = ChunkStatus.FAILED if attempt == chunks.MAX_ATTEMPTS else ChunkStatus.PENDING
        assert chunk.status == expected and chunk.error == "boom"


def test_it_ignores_a_release_by_a_worker_that_lost_the_claim():
    chunk = _chunk()
    chunks.claim_chunk(chunk.pk, "w1")
    chunks.release_chunk(chunk.pk, "someone-else", "late")
    chunk.refresh_from_db()
    assert chunk.status == ChunkStatus.RUNNING and chunk.error == ""
