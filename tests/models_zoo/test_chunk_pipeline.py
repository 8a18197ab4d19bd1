"""Inline runs process chunks as one stream of batches and store each chunk as soon as it is complete.

Inference is replaced by a deterministic stand-in (labels derived from each path), so that batches can
straddle chunk boundaries; storing is real, in a background thread when no transaction is open.
"""

from types import SimpleNamespace
from unittest.mock import patch

import numpy as np
import pytest

from models_zoo import chunks as services
from models_zoo import inference, weights
from models_zoo.models import ChunkStatus, ImageFeature, InferenceChunk, Prediction
from models_zoo.registry import Preprocessing
from tests.factories import DatasetFactory, ImageFactory, LabelClassFactory

MODELS = ["efficientnet_lite0", "efficientnet_lite1"]
BATCH = 3  # chunks hold 4 images: most batches hold images of two chunks


def _stand_in(spec, device, channels_last, frozen=False):
    return SimpleNamespace(name=spec.name, version="v1", preprocessing=Preprocessing(input_size=8))


def _number(path: str) -> int:
    return int(path.rsplit("/", 1)[1].split(".")[0])


def _fake_run_ensemble(models, paths, config, topk, feature_model, max_pixels):
    """Batches of BATCH paths; image n gets labels n % 7, n % 7 + 1, ...; images named 5.jpg fail."""
    for start in range(0, len(paths), BATCH):
        span = list(range(start, min(start + BATCH, len(paths))))
        good = [p for p in span if _number(paths[p]) != 5]
        labels = np.array([[(_number(paths[p]) + rank) % 7 for rank in range(topk)] for p in good]).reshape(-1, topk)
        probs = np.tile(np.linspace(0.5, 0.1, topk), (len(good), 1))
        yield inference.BatchOutput(
            positions=good,
            failed=[p for p in span if p not in good],
            topk={m.name: (labels, probs) for m in models},
            features=np.ones((len(good), 4), dtype=np.float32) if feature_model else None,
        )


def _chunks(count: int = 3, per_chunk: int = 4) -> list[InferenceChunk]:
    dataset = DatasetFactory()
    labels = [LabelClassFactory(index=i) for i in range(7)]
    chunks = []
    for number in range(count):
        ids = [
            ImageFactory(dataset=dataset, original_label=labels[0], file=f"images/{number * per_chunk + i}.jpg").pk
            for i in range(per_chunk)
        ]
        chunks.append(InferenceChunk.objects.create(dataset=dataset, model_names=MODELS, topk=3, image_ids=ids))
    return chunks


@pytest.fixture
def stand_in_inference():
    with patch.object(weights, "get_loaded_model", _stand_in), \
            patch.object(inference, "run_ensemble", _fake_run_ensemble):
        yield


def _check_stored(chunks: list[InferenceChunk]) -> None:
    for chunk in chunks:
        chunk.refresh_from_db()
        assert chunk.status == ChunkStatus.DONE
    predictions = Prediction.objects.filter(model_name=MODELS[0]).select_related("image")
    assert {_number(p.image.file.name): p.labels for p in predictions} == {
        n: [n % 7, (n + 1) % 7, (n + 2) % 7] for n in range(12) if n != 5
    }
    assert Prediction.objects.count() == 2 * 11 and ImageFeature.objects.count() == 11
    assert chunks[1].failed_images == [chunks[1].image_ids[1]]  # 5.jpg


def _processed_in_order(outcomes, chunks):
    assert [o.chunk_id for o in outcomes] == [c.pk for c in chunks]
    assert [o.images for o in outcomes] == [4, 3, 4] and all(o.processed for o in outcomes)


@pytest.mark.django_db
def test_chunks_straddled_by_batches_are_each_stored_complete(stand_in_inference):
    chunks = _chunks()
    progress = []
    outcomes = services.process_chunks([c.pk for c in chunks], progress=progress.append, device="cpu")
    _processed_in_order(outcomes, chunks)
    _check_stored(chunks)
    assert sum(progress) == 12
    assert services.process_chunks([c.pk for c in chunks], device="cpu") == []  # done: nothing to redo


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_chunks_are_stored_by_the_background_writer(stand_in_inference):
    chunks = _chunks()
    stored_by = []
    original_store = services._store

    def recording_store(chunk, token, results):
        import threading

        stored_by.append(threading.current_thread().name)
        return original_store(chunk, token, results)

    with patch.object(services, "_store", recording_store):
        outcomes = services.process_chunks([c.pk for c in chunks], device="cpu")
    _processed_in_order(outcomes, chunks)
    _check_stored(chunks)
    assert all(name.startswith("chunk-writer") for name in stored_by) and len(stored_by) == 3


@pytest.mark.django_db(transaction=True)
def test_a_chunk_that_cannot_be_stored_is_released_and_the_others_are_stored(stand_in_inference):
    chunks = _chunks()
    original_store = services._store

    def failing_store(chunk, token, results):
        if chunk.pk == chunks[1].pk:
            raise RuntimeError("disk full")
        return original_store(chunk, token, results)

    with patch.object(services, "_store", failing_store), pytest.raises(RuntimeError, match="disk full"):
        services.process_chunks([c.pk for c in chunks], device="cpu")
    statuses = [InferenceChunk.objects.get(pk=c.pk) for c in chunks]
    assert [c.status for c in statuses] == [ChunkStatus.DONE, ChunkStatus.PENDING, ChunkStatus.DONE]
    assert "disk full" in statuses[1].error
    assert services.process_chunks([chunks[1].pk], device="cpu")[0].images == 3  # a retry finishes it


@pytest.mark.django_db
def test_when_inference_fails_the_claimed_chunks_are_released(stand_in_inference):
    chunks = _chunks()
    with patch.object(inference, "run_ensemble", side_effect=RuntimeError("CUDA error")), \
            pytest.raises(RuntimeError, match="CUDA error"):
        services.process_chunks([c.pk for c in chunks], device="cpu")
    for chunk in chunks:
        chunk.refresh_from_db()
        assert chunk.status == ChunkStatus.PENDING and "CUDA error" in chunk.error and chunk.attempts == 1


@pytest.mark.django_db
def test_a_chunk_held_elsewhere_is_reported_and_skipped(stand_in_inference):
    chunks = _chunks()
    services.claim_chunk(chunks[0].pk, "other worker")
    busy = []
    outcomes = services.process_chunks([c.pk for c in chunks], device="cpu", on_busy=busy.append)
    assert [o.chunk_id for o in outcomes] == [chunks[1].pk, chunks[2].pk]
    assert len(busy) == 1 and isinstance(busy[0], services.ChunkBusy)
    with pytest.raises(services.ChunkBusy):
        services.process_chunk(chunks[0].pk, "third worker")


@pytest.mark.django_db
def test_without_a_busy_handler_a_held_chunk_stops_the_run_and_gives_back_the_claimed_ones(stand_in_inference):
    chunks = _chunks()
    services.claim_chunk(chunks[1].pk, "other worker")
    with pytest.raises(services.ChunkBusy):
        services.process_chunks([c.pk for c in chunks], device="cpu")
    chunks[0].refresh_from_db()
    assert chunks[0].status == ChunkStatus.PENDING and "not run" in chunks[0].error
    assert not Prediction.objects.exists()
