"""Faults: workers that crash, tasks delivered twice, aggregates recomputed from raw judgments."""

from datetime import timedelta
from unittest.mock import patch

import pytest
from django.utils import timezone

from analytics import exports, jobs
from analytics.models import ClassifyResult, JobRun, SelectionFrequency
from analytics.services import aggregate_dataset
from annotation.models import CandidateLabel
from models_zoo import chunks
from models_zoo.models import ChunkStatus, ImageFeature, InferenceChunk, Prediction
from tests.analytics.demo_data import build_demo_like
from tests.factories import DatasetFactory, ImageFactory, LabelClassFactory

pytestmark = pytest.mark.django_db


def _chunk(images: int = 3) -> InferenceChunk:
    dataset = DatasetFactory()
    labels = [LabelClassFactory(index=i) for i in range(6)]
    ids = [ImageFactory(dataset=dataset, original_label=labels[i], file=f"images/{i}.jpg").pk for i in range(images)]
    return InferenceChunk.objects.create(dataset=dataset, model_names=["m1", "m2"], topk=2, image_ids=ids)


def _fake_results(chunk):
    ranked = {i: {"m1": [(1, 0.6), (2, 0.3)], "m2": [(2, 0.5), (3, 0.4)]} for i in chunk.image_ids}
    return chunks._Results({"m1": "v1", "m2": "v1"}, ranked, {i: b"\x00\x3c" * 4 for i in chunk.image_ids}, 4, [])


def _fake_infer_window(window, progress, device, writer):
    for claimed in window:
        claimed.results = _fake_results(claimed.chunk)
        writer.store(claimed)


def _rows(chunk: InferenceChunk) -> tuple[int, int, int]:
    ids = chunk.image_ids
    return tuple(model.objects.filter(image_id__in=ids).count() for model in (Prediction, CandidateLabel, ImageFeature))


def _lose_the_lease(chunk: InferenceChunk) -> None:
    InferenceChunk.objects.filter(pk=chunk.pk).update(lease_until=timezone.now() - timedelta(seconds=1))


def test_a_chunk_whose_worker_dies_every_time_fails_after_a_bounded_number_of_attempts():
    chunk = _chunk()
    for _ in range(chunks.MAX_ATTEMPTS):
        assert chunks.claim_chunk(chunk.pk, "doomed")  # the worker is killed: nothing releases the chunk
        _lose_the_lease(chunk)
    assert chunks.claim_chunk(chunk.pk, "next") == ""
    chunk.refresh_from_db()
    assert chunk.status == ChunkStatus.FAILED and chunk.attempts == chunks.MAX_ATTEMPTS
    assert "gave up after" in chunk.error and chunk.finished_at is not None


def test_a_chunk_that_raises_every_time_fails_after_max_attempts():
    chunk = _chunk()
    with patch.object(chunks, "_infer_window", side_effect=RuntimeError("boom")):
        for _ in range(chunks.MAX_ATTEMPTS + 2):
            with pytest.raises(RuntimeError):
                chunks.process_chunk(chunk.pk, "w")
            chunk.refresh_from_db()
            if chunk.status == ChunkStatus.FAILED:
                break
    assert chunk.status == ChunkStatus.FAILED and chunk.attempts == chunks.MAX_ATTEMPTS


@patch.object(chunks, "_infer_window", _fake_infer_window)
def test_a_chunk_delivered_twice_stores_its_rows_once():
    chunk = _chunk()
    first = chunks.process_chunk(chunk.pk, "w1")
    counts = _rows(chunk)
    assert first.processed and counts == (6, 10, 3)  # 2 models x 3; {1,2,3} plus original 0 on one; 3 features
    assert not chunks.process_chunk(chunk.pk, "w2").processed
    InferenceChunk.objects.filter(pk=chunk.pk).update(status=ChunkStatus.PENDING)  # redelivered after the ack was lost
    assert chunks.process_chunk(chunk.pk, "w3").processed
    assert _rows(chunk) == counts


def test_a_worker_that_outlives_its_lease_cannot_store_over_the_one_that_took_over():
    chunk = _chunk()
    slow_token = chunks.claim_chunk(chunk.pk, "slow")
    _lose_the_lease(chunk)
    with patch.object(chunks, "_infer_window", _fake_infer_window):
        assert chunks.process_chunk(chunk.pk, "fast").processed
        counts = _rows(chunk)
        results = _fake_results(chunk)
        with pytest.raises(chunks.ChunkBusy):
            chunks._store(chunk, slow_token, results)  # the slow worker finally finishes
    assert _rows(chunk) == counts


def test_a_dashboard_job_runs_once_however_often_it_is_delivered():
    dataset = DatasetFactory()
    job = JobRun.objects.create(dataset=dataset, kind=JobRun.Kind.AGGREGATE)
    with patch.dict(jobs.RUNNERS, {JobRun.Kind.AGGREGATE: lambda job, progress: 1 / 0}):
        assert jobs.execute(job.pk) is True
        assert jobs.execute(job.pk) is False
    job.refresh_from_db()
    assert job.status == JobRun.Status.FAILED and "division by zero" in job.message


def _export(dataset, what: str) -> str:
    return "".join(exports.stream(dataset, what, "jsonl"))


def test_recomputing_aggregates_from_raw_judgments_gives_identical_exports():
    dataset = build_demo_like()
    before = {what: _export(dataset, what) for what in ("sf", "classify")}
    assert before["sf"] and before["classify"]
    SelectionFrequency.objects.filter(image__dataset=dataset).delete()
    ClassifyResult.objects.filter(image__dataset=dataset).delete()
    aggregate_dataset(dataset, min_workers=5)
    aggregate_dataset(dataset, min_workers=5)
    assert {what: _export(dataset, what) for what in before} == before
