"""Candidate proposal: planning chunks, claiming them, storing predictions, candidates and features.

Flow: `plan_proposal` creates InferenceChunk rows for the (image, model) pairs that lack a
prediction; `process_chunk` (in a Celery task) claims one chunk with a conditional UPDATE, runs the
ensemble and stores everything in one transaction, conditional on still holding the claim;
`process_chunks` (inline runs) does the same for many chunks, inferred as one stream of batches.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import connection, connections, transaction
from django.db.models import F, Q
from django.utils import timezone

from annotation.models import CandidateLabel, Dataset, Image, LabelClass
from models_zoo.features import encode_vector
from models_zoo.models import ChunkStatus, ImageFeature, InferenceChunk, Prediction
from models_zoo.registry import ModelSpec, WeightKind, checkpoint_path, get_models, model_version
from models_zoo.store import ProposalError, store_candidates, store_features, store_predictions

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
OPEN_STATUSES = (ChunkStatus.PENDING, ChunkStatus.RUNNING)


class ChunkBusy(Exception):
    """Another worker holds the chunk's lease; try again after `retry_after` seconds."""

    def __init__(self, chunk_id: int, retry_after: float):
        super().__init__(f"chunk {chunk_id} is held by another worker for {retry_after:.0f}s more")
        self.retry_after = retry_after


@dataclass
class ProposalPlan:
    chunk_ids: list[int]  # chunks to queue: new ones and open ones that nobody holds
    new_chunks: int
    images_to_process: int
    images_without_file: int


@dataclass
class ChunkOutcome:
    chunk_id: int
    processed: bool
    images: int = 0
    failed_images: list[int] = field(default_factory=list)
    predictions_created: int = 0
    candidates_created: int = 0
    candidates_updated: int = 0

    def as_dict(self) -> dict:
        return self.__dict__.copy()


def plan_proposal(
    dataset: Dataset, model_names: list[str] | None = None, topk: int = 5, chunk_size: int | None = None
) -> ProposalPlan:
    """Create chunks for every image lacking a prediction (or the feature) of a requested model.

    Images already in an open chunk for a model are not planned again; open chunks nobody holds
    (pending, or running with an expired lease) are returned for queueing once more.
    """
    specs = get_models(model_names)
    chunk_size = chunk_size or settings.RELABEL_CHUNK_SIZE
    _check_arguments(specs, topk, chunk_size)
    with transaction.atomic():
        Dataset.objects.select_for_update().filter(pk=dataset.pk).first()
        image_ids = list(dataset.images.exclude(file="").order_by("id").values_list("id", flat=True))
        without_file = dataset.images.filter(file="").count()
        missing = _missing_models(dataset, image_ids, [s.name for s in specs], topk)
        groups: dict[tuple[str, ...], list[int]] = defaultdict(list)
        for image_id in image_ids:
            if missing[image_id]:
                groups[tuple(s.name for s in specs if s.name in missing[image_id])].append(image_id)
        new = [
            InferenceChunk(dataset=dataset, model_names=list(names), topk=topk, image_ids=ids[i : i + chunk_size])
            for names, ids in groups.items()
            for i in range(0, len(ids), chunk_size)
        ]
        created = InferenceChunk.objects.bulk_create(new)
        unclaimed = _unclaimed_chunks(dataset).exclude(pk__in=[c.pk for c in created])
        chunk_ids = [c.pk for c in created] + list(unclaimed.values_list("pk", flat=True))
    return ProposalPlan(
        chunk_ids=chunk_ids,
        new_chunks=len(created),
        images_to_process=sum(len(c.image_ids) for c in InferenceChunk.objects.filter(pk__in=chunk_ids)),
        images_without_file=without_file,
    )


def _check_arguments(specs: list[ModelSpec], topk: int, chunk_size: int) -> None:
    if not specs:
        raise ProposalError("no models to run")
    if not 1 <= topk <= min(s.num_classes for s in specs):
        raise ProposalError(f"--topk must be between 1 and the number of classes, got {topk}")
    if chunk_size < 1:
        raise ProposalError(f"chunk size must be positive, got {chunk_size}")
    needed = max(s.num_classes for s in specs)
    if LabelClass.objects.filter(index__lt=needed).count() < needed:
        raise ProposalError(
            f"the taxonomy has fewer than the models' {needed} classes: run `python manage.py load_taxonomy`"
        )


def _missing_models(dataset: Dataset, image_ids: list[int], names: list[str], topk: int) -> dict[int, set]:
    """For each image, the requested models that still have to run on it."""
    missing: dict[int, set] = {image_id: set(names) for image_id in image_ids}
    predictions = Prediction.objects.filter(image__dataset=dataset, model_name__in=names)
    for image_id, model_name, labels in predictions.values_list("image_id", "model_name", "labels"):
        if image_id in missing and len(labels) >= topk:
            missing[image_id].discard(model_name)
    feature_model = settings.RELABEL_FEATURE_MODEL
    if feature_model in names:
        have = set(
            ImageFeature.objects.filter(image__dataset=dataset, model_name=feature_model).values_list(
                "image_id", flat=True
            )
        )
        for image_id in image_ids:
            if image_id not in have:
                missing[image_id].add(feature_model)
    for chunk in InferenceChunk.objects.filter(dataset=dataset, status__in=OPEN_STATUSES):
        for image_id in chunk.image_ids:
            if image_id in missing:
                missing[image_id].difference_update(chunk.model_names)
    return missing


def _unclaimed_chunks(dataset: Dataset):
    expired = Q(status=ChunkStatus.RUNNING, lease_until__lt=timezone.now())
    return InferenceChunk.objects.filter(Q(status=ChunkStatus.PENDING) | expired, dataset=dataset).order_by("pk")


def wait_for_chunks(
    dataset: Dataset, chunk_ids: list[int], report: Callable[[int], None], poll_seconds: float = 1.0
) -> None:
    """Block until no chunk of the dataset is open any more, reporting the planned chunks' finished images.

    Waiting on the dataset, not only on `chunk_ids`, covers chunks a worker already held while they were
    planned (planning returns only chunks nobody holds).
    """
    planned = InferenceChunk.objects.filter(pk__in=chunk_ids, status__in=[ChunkStatus.DONE, ChunkStatus.FAILED])
    open_chunks = InferenceChunk.objects.filter(dataset=dataset, status__in=OPEN_STATUSES)
    while True:
        report(sum(len(ids) for ids in planned.values_list("image_ids", flat=True)))
        if not open_chunks.exists():
            return
        time.sleep(poll_seconds)


def lost_chunk_ids(min_age: timedelta) -> list[int]:
    """Open chunks that nobody holds, across datasets: pending for at least `min_age`, or running with
    an expired lease.

    Meant to be called when the broker's inference queue is empty: then these chunks' messages were
    lost (a broker restarted without persistence) and must be queued again. A duplicate message is
    harmless: the claim lets one worker in and the other finds the chunk held or done.
    """
    now = timezone.now()
    old_pending = Q(status=ChunkStatus.PENDING, created_at__lt=now - min_age)
    expired = Q(status=ChunkStatus.RUNNING, lease_until__lt=now)
    return list(InferenceChunk.objects.filter(old_pending | expired).order_by("pk").values_list("pk", flat=True))


def claim_chunk(chunk_id: int, worker: str) -> str:
    """Claim a chunk for `worker` and return the claim token; ChunkBusy if someone holds it.

    Returns "" when the chunk is already finished (done or failed): nothing to do.
    """
    token = uuid.uuid4().hex
    now = timezone.now()
    abandoned = Q(status=ChunkStatus.RUNNING, lease_until__lt=now)
    # A worker that dies mid-chunk never releases it: after MAX_ATTEMPTS lost leases, stop retrying.
    InferenceChunk.objects.filter(abandoned, pk=chunk_id, attempts__gte=MAX_ATTEMPTS).update(
        status=ChunkStatus.FAILED, lease_until=None, finished_at=now,
        error=f"gave up after {MAX_ATTEMPTS} attempts whose worker stopped before finishing",
    )
    claimable = Q(status=ChunkStatus.PENDING) | abandoned
    claimed = InferenceChunk.objects.filter(claimable, pk=chunk_id, attempts__lt=MAX_ATTEMPTS).update(
        status=ChunkStatus.RUNNING,
        claimed_by=worker[:255],
        claim_token=token,
        lease_until=now + _lease(),
        attempts=F("attempts") + 1,
    )
    if claimed:
        return token
    chunk = InferenceChunk.objects.filter(pk=chunk_id).only("status", "lease_until").first()
    if chunk is None or chunk.status not in OPEN_STATUSES:
        return ""
    wait = (chunk.lease_until - now).total_seconds() if chunk.lease_until else 1.0
    raise ChunkBusy(chunk_id, max(wait, 1.0))


def renew_lease(chunk_id: int, token: str) -> bool:
    """Extend the lease while working; False means the claim was lost (lease expired and taken)."""
    return bool(
        InferenceChunk.objects.filter(pk=chunk_id, claim_token=token, status=ChunkStatus.RUNNING).update(
            lease_until=timezone.now() + _lease()
        )
    )


def release_chunk(chunk_id: int, token: str, error: str) -> None:
    """Give a claimed chunk back after an error: pending again, or failed after MAX_ATTEMPTS."""
    chunk = InferenceChunk.objects.filter(pk=chunk_id, claim_token=token).only("attempts").first()
    if chunk is None:
        return
    final = chunk.attempts >= MAX_ATTEMPTS
    InferenceChunk.objects.filter(pk=chunk_id, claim_token=token, status=ChunkStatus.RUNNING).update(
        status=ChunkStatus.FAILED if final else ChunkStatus.PENDING,
        error=error[:5000],
        lease_until=None,
        finished_at=timezone.now() if final else None,
    )


def _lease() -> timedelta:
    return timedelta(seconds=settings.RELABEL_CHUNK_LEASE_SECONDS)


def process_chunk(
    chunk_id: int, worker: str = "inline", progress: Callable[[int], None] | None = None, device: str = ""
) -> ChunkOutcome:
    """Claim the chunk, run its models on its images and store the results (idempotent).

    Raises ChunkBusy when another worker holds the chunk.
    """
    outcomes = process_chunks([chunk_id], worker, progress, device, background_store=False)
    return outcomes[0] if outcomes else ChunkOutcome(chunk_id=chunk_id, processed=False)


# Images inferred as one stream of batches by process_chunks: decoding runs a batch ahead within it.
WINDOW_IMAGES = 4096
# Finished chunks waiting for the background writer before inference waits for it.
MAX_PENDING_STORES = 4


def process_chunks(
    chunk_ids: Iterable[int],
    worker: str = "inline",
    progress: Callable[[int], None] | None = None,
    device: str = "",
    on_busy: Callable[[ChunkBusy], None] | None = None,
    background_store: bool = True,
) -> list[ChunkOutcome]:
    """Process chunks in order, as `process_chunk` does one, for inline runs.

    Consecutive chunks of the same models are claimed together, up to WINDOW_IMAGES images, and inferred as
    one stream of batches, so that decoding overlaps the forward passes across chunk boundaries (a CUDA
    chunk is a single batch). Each chunk is stored as soon as its last image is inferred, by a background
    thread with its own database connection while inference goes on (`background_store`, and the caller
    holds no transaction, which that thread could not join). A chunk held by another worker is passed to
    `on_busy`, or raises ChunkBusy. Finished chunks are skipped. Returns the processed chunks' outcomes.
    """
    device = device or settings.RELABEL_INFERENCE_DEVICE
    with _ChunkWriter(background_store and not connection.in_atomic_block) as writer:
        for window in _claimed_windows(list(chunk_ids), worker, on_busy):
            try:
                _infer_window(window, progress, device, writer)
            except Exception as exc:
                _release_all([c for c in window if not c.handed_over], f"{type(exc).__name__}: {exc}")
                raise
    return writer.outcomes


@dataclass
class _Results:
    versions: dict[str, str]
    ranked: dict[int, dict[str, list[tuple[int, float]]]]  # image id → model → [(label, prob)]
    features: dict[int, bytes]
    feature_dim: int
    failed: list[int]


@dataclass(eq=False)  # compared and hashed by identity
class _ClaimedChunk:
    chunk: InferenceChunk
    token: str
    images: list[Image]
    results: _Results | None = None
    remaining: int = 0  # images not inferred yet
    handed_over: bool = False  # to the writer, which stores it or releases it


def _claimed_windows(
    chunk_ids: list[int], worker: str, on_busy: Callable[[ChunkBusy], None] | None
) -> Iterator[list[_ClaimedChunk]]:
    """Windows of claimed chunks sharing their models and top-k, claimed when the window is needed."""
    window: list[_ClaimedChunk] = []
    for chunk_id in chunk_ids:
        try:
            token = claim_chunk(chunk_id, worker)
        except ChunkBusy as busy:
            if on_busy is None:
                _release_all(window, f"not run: {busy}")
                raise
            on_busy(busy)
            continue
        except Exception as exc:
            _release_all(window, f"not run: claiming chunk {chunk_id} failed: {exc}")
            raise
        if not token:
            continue
        chunk = InferenceChunk.objects.get(pk=chunk_id)
        images = list(Image.objects.filter(pk__in=chunk.image_ids).exclude(file="").order_by("pk"))
        claimed = _ClaimedChunk(chunk, token, images, remaining=len(images))
        if window and (chunk.model_names, chunk.topk) != (window[0].chunk.model_names, window[0].chunk.topk):
            yield window
            window = []
        window.append(claimed)
        if sum(len(c.images) for c in window) >= WINDOW_IMAGES:
            yield window
            window = []
    if window:
        yield window


def _release_all(window: list[_ClaimedChunk], error: str) -> None:
    for claimed in window:
        release_chunk(claimed.chunk.pk, claimed.token, error)


def _infer_window(
    window: list[_ClaimedChunk], progress: Callable[[int], None] | None, device: str, writer: _ChunkWriter
) -> None:
    """Run the window's models over all its images; hand each chunk to the writer once it is complete."""
    from models_zoo import inference
    from models_zoo.weights import get_loaded_model

    first = window[0].chunk
    config = inference.default_config(
        device, settings.RELABEL_INFERENCE_BATCH_SIZE, settings.RELABEL_LOADER_WORKERS,
        settings.RELABEL_INFERENCE_GRAPH, settings.RELABEL_INFERENCE_LANES,
    )
    models = [
        get_loaded_model(spec, config.device, config.channels_last, config.frozen)
        for spec in get_models(first.model_names)
    ]
    feature_model = settings.RELABEL_FEATURE_MODEL if settings.RELABEL_FEATURE_MODEL in first.model_names else None
    owners = [(claimed, image) for claimed in window for image in claimed.images]
    for claimed in window:
        claimed.results = _Results({m.name: m.version for m in models}, defaultdict(dict), {}, 0, [])
        if not claimed.images:
            writer.store(claimed)
    batches = inference.run_ensemble(
        models, [image.file.path for _, image in owners], config, first.topk, feature_model,
        settings.RELABEL_MAX_IMAGE_PIXELS,
    )
    renewed = time.monotonic()
    for batch in batches:
        for claimed in _collect(batch, owners):
            writer.store(claimed)
        if time.monotonic() - renewed >= _lease().total_seconds() / 10:  # a write per batch cost 3% of a run
            for claimed in window:
                if not claimed.handed_over and not renew_lease(claimed.chunk.pk, claimed.token):
                    raise ChunkBusy(claimed.chunk.pk, 0)
            renewed = time.monotonic()
        if progress:
            progress(len(batch.positions) + len(batch.failed))


def _collect(batch, owners: list[tuple[_ClaimedChunk, Image]]) -> list[_ClaimedChunk]:
    """File the batch's results under their chunks; returns the chunks this batch completed."""
    touched = []
    for position in batch.failed:
        claimed, image = owners[position]
        claimed.results.failed.append(image.pk)
        claimed.remaining -= 1
        touched.append(claimed)
    rows = {name: (labels.tolist(), probs.tolist()) for name, (labels, probs) in batch.topk.items()}
    for row, position in enumerate(batch.positions):
        claimed, image = owners[position]
        results = claimed.results
        for name, (labels, probs) in rows.items():
            results.ranked[image.pk][name] = list(zip(labels[row], probs[row], strict=True))
        if batch.features is not None:
            results.features[image.pk] = encode_vector(batch.features[row])
            results.feature_dim = batch.features.shape[1]
        claimed.remaining -= 1
        touched.append(claimed)
    return [claimed for claimed in dict.fromkeys(touched) if claimed.remaining == 0]


class _ChunkWriter:
    """Stores finished chunks, in order: in a background thread, or at once in the caller's thread.

    A chunk that cannot be stored is released (pending again, or failed after MAX_ATTEMPTS) and the error
    is raised when the writer is closed, after the chunks before and after it were stored.
    """

    def __init__(self, background: bool):
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="chunk-writer") if background else None
        self.pending: list[Future] = []
        self.outcomes: list[ChunkOutcome] = []
        self.errors: list[BaseException] = []

    def store(self, claimed: _ClaimedChunk) -> None:
        claimed.handed_over = True
        if self.pool is None:
            self.outcomes.append(_store_or_release(claimed))
            return
        self.pending.append(self.pool.submit(_store_or_release, claimed))
        while len(self.pending) > MAX_PENDING_STORES:
            self._finish(self.pending.pop(0))

    def _finish(self, future: Future) -> None:
        try:
            self.outcomes.append(future.result())
        except Exception as exc:
            self.errors.append(exc)

    def __enter__(self) -> _ChunkWriter:
        return self

    def __exit__(self, *exc_info) -> None:
        if self.pool is not None:
            for future in self.pending:
                self._finish(future)
            self.pool.submit(connections.close_all).result()  # the thread's own connection
            self.pool.shutdown()
        if self.errors and exc_info[0] is None:
            raise self.errors[0]


def _store_or_release(claimed: _ClaimedChunk) -> ChunkOutcome:
    try:
        return _store(claimed.chunk, claimed.token, claimed.results)
    except Exception as exc:
        release_chunk(claimed.chunk.pk, claimed.token, f"{type(exc).__name__}: {exc}")
        raise


def _store(chunk: InferenceChunk, token: str, results: _Results) -> ChunkOutcome:
    with transaction.atomic():
        held = InferenceChunk.objects.select_for_update().filter(
            pk=chunk.pk, claim_token=token, status=ChunkStatus.RUNNING
        )
        if not held.exists():
            raise ChunkBusy(chunk.pk, 0)
        predictions = store_predictions(results.ranked, results.versions)
        store_features(results.features, results.feature_dim)
        created, updated = store_candidates(results.ranked, chunk.topk)
        held.update(
            status=ChunkStatus.DONE,
            lease_until=None,
            error="",
            failed_images=results.failed,
            predictions_created=predictions,
            candidates_created=created,
            candidates_updated=updated,
            finished_at=timezone.now(),
        )
    return ChunkOutcome(
        chunk_id=chunk.pk,
        processed=True,
        images=len(results.ranked),
        failed_images=results.failed,
        predictions_created=predictions,
        candidates_created=created,
        candidates_updated=updated,
    )


@dataclass
class ProposalSummary:
    images: int
    images_with_candidates: int
    candidates: int
    original_proposed: int  # images whose original label some model proposed
    images_with_original: int
    failed_images: list[int]
    open_chunks: int


def proposal_summary(dataset: Dataset, chunk_ids: Iterable[int] = ()) -> ProposalSummary:
    """Counts for the command's summary: coverage of the original label by the models' union."""
    candidates = CandidateLabel.objects.filter(image__dataset=dataset)
    original_proposed = (
        candidates.filter(is_original=True).exclude(sources=[]).values("image_id").distinct().count()
    )
    failed: list[int] = []
    for chunk_failed in InferenceChunk.objects.filter(pk__in=list(chunk_ids)).values_list("failed_images", flat=True):
        failed.extend(chunk_failed)
    return ProposalSummary(
        images=dataset.images.count(),
        images_with_candidates=candidates.values("image_id").distinct().count(),
        candidates=candidates.count(),
        original_proposed=original_proposed,
        images_with_original=dataset.images.exclude(original_label=None).count(),
        failed_images=failed,
        open_chunks=InferenceChunk.objects.filter(dataset=dataset, status__in=OPEN_STATUSES).count(),
    )


def check_weights(model_names: list[str] | None) -> None:
    """Raise WeightsUnavailable (naming the package/file) if a model cannot load on this machine."""
    for spec in get_models(model_names):
        model_version(spec)
        if spec.weights.kind != WeightKind.HUB:
            checkpoint_path(spec)
