"""Batched inference of an ensemble over image files (no ORM).

Each image is decoded once (JPEG downscaled by `Image.draft` while decoding), then cropped once per
input geometry the ensemble needs, as uint8; normalisation happens on the device.

On CUDA (bf16 autocast, channels_last, the ensemble replayed as one CUDA graph: models_zoo.cuda_graphs)
JPEGs are decoded and cropped on the GPU by default, a batch ahead of the forward passes
(models_zoo.device_decode: PIL in 15 loader processes could not feed an H100); `RELABEL_LOADER_WORKERS` > 0
brings back PIL in DataLoader processes with pinned memory.

On the CPU (fp32 frozen graphs, models_zoo.graphs) one process runs by default, with torch's threads on
every core: a loader process there takes cores from torch's threads, which then wait for each other, so
overlapping cost twice the decoding's CPU time (docs/benchmarks.md). It decodes groups of images with a
pool of one thread per core (PIL releases the GIL), between forward passes; `RELABEL_LOADER_WORKERS` > 0
asks for loader processes instead. `RELABEL_INFERENCE_LANES` > 1 (0: one per core) runs lanes instead
(models_zoo.lanes): forked processes with one torch thread each, each decoding and forwarding its own
batches, so that one lane's decoding overlaps another's forward passes; on the 2-core machine they were
no faster end to end than the single process (docs/benchmarks.md).
"""

from __future__ import annotations

import functools
import logging
import multiprocessing
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from models_zoo.geometry import TORCH_MODES, geometry_key, resized_geometry
from models_zoo.registry import Preprocessing
from models_zoo.weights import LoadedModel

logger = logging.getLogger(__name__)

# Measured on a 2-core CPU (docs/benchmarks.md): small channels_last batches beat large ones there;
# a lane's single torch thread does best with batches of 2.
CPU_BATCH_SIZE = 4
CPU_LANE_BATCH_SIZE = 2
CUDA_BATCH_SIZE = 256
_PIL_ONLY_MODES = {"lanczos": Image.Resampling.LANCZOS}


class InferenceError(RuntimeError):
    """Inference cannot run as configured (device, settings)."""


@dataclass(frozen=True)
class InferenceConfig:
    device: str = "cpu"
    batch_size: int = CPU_BATCH_SIZE
    workers: int = 0  # loader processes; 0: decode in a thread pool between forward passes
    channels_last: bool = True
    bf16: bool = False
    frozen: bool = False  # CPU: frozen TorchScript graphs (models_zoo.graphs); CUDA: one captured CUDA graph
    lanes: int = 1  # CPU processes with one torch thread each (models_zoo.lanes)
    device_decode: bool = False  # JPEGs decoded and cropped on the GPU (models_zoo.device_decode)


def resolve_device(requested: str = "auto") -> str:
    """"auto" → "cuda" when a GPU is visible, else "cpu"; an explicit device must exist."""
    import torch

    requested = (requested or "auto").strip().lower()
    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if requested.startswith("cuda"):
        if not torch.cuda.is_available():
            raise InferenceError(f"device {requested!r} requested but CUDA is not available here; use cpu or auto")
        return requested
    if requested == "cpu":
        return "cpu"
    raise InferenceError(f"unknown inference device {requested!r}: use auto, cpu, cuda or cuda:N")


def default_config(
    device: str = "auto", batch_size: int = 0, workers: int = -1, graph: str = "frozen", lanes: int = 1
) -> InferenceConfig:
    """The measured defaults for the device; batch_size 0 and workers -1 mean "choose for me".

    `graph` is "frozen" (CPU models run as frozen graphs, the CUDA ensemble as a captured CUDA graph) or
    "eager". On the CPU, `lanes` 0 means one lane per core; asking for loader processes (workers > 0) means a
    single lane.
    """
    if graph not in ("frozen", "eager"):
        raise InferenceError(f"unknown inference graph {graph!r}: use frozen or eager")
    device = resolve_device(device)
    if device.startswith("cuda"):
        return InferenceConfig(
            device=device,
            batch_size=batch_size or CUDA_BATCH_SIZE,
            workers=max(workers, 0),
            channels_last=True,
            bf16=True,
            frozen=graph == "frozen",
            device_decode=workers < 0,
        )
    from models_zoo.lanes import default_lanes

    lanes = 1 if workers > 0 else default_lanes(lanes)
    return InferenceConfig(
        device="cpu",
        batch_size=batch_size or (CPU_LANE_BATCH_SIZE if lanes > 1 else CPU_BATCH_SIZE),
        workers=max(workers, 0),
        lanes=lanes,
        channels_last=True,
        bf16=False,
        frozen=graph == "frozen",
    )


def centre_crops(image: Any, preprocessings: Sequence[Preprocessing]) -> dict[str, Any]:
    """Per geometry key, the (3, S, S) centre crop of a (1, 3, H, W) image tensor, resized with torch.

    The whole image is resized (antialiased, as PIL resizes), then cropped: within 2/255 of PIL's resize
    and crop, which timm's eval transform does. For uint8 channels_last input this costs 40% less than
    PIL on the CPU (docs/benchmarks.md); float input keeps the values unrounded.
    """
    import torch.nn.functional as F

    height, width = image.shape[2:]
    crops = {}
    for preprocessing in preprocessings:
        key = geometry_key(preprocessing.geometry)
        if key in crops:
            continue
        resized_w, resized_h, left, top = resized_geometry(width, height, preprocessing)
        mode = TORCH_MODES[preprocessing.interpolation]
        resized = F.interpolate(image, size=(resized_h, resized_w), mode=mode, antialias=mode != "nearest-exact")
        size = preprocessing.input_size
        crops[key] = resized[0, :, top : top + size, left : left + size]
    return crops


def load_crops(path: str, preprocessings: Sequence[Preprocessing]) -> dict[str, np.ndarray]:
    """Decode `path` once and return a uint8 CHW crop per distinct geometry.

    JPEGs are downscaled while decoding (DCT scaling via `draft`) to no less than the largest resize
    target; torch resizes and crops (`centre_crops`), PIL where torch lacks the interpolation (Lanczos).
    """
    import torch

    largest = max(p.resize_to for p in preprocessings)
    with Image.open(path) as image:
        image.draft("RGB", (largest, largest))
        image = image.convert("RGB")
    on_torch = [p for p in preprocessings if p.interpolation in TORCH_MODES]
    pixels = torch.from_numpy(np.array(image)).permute(2, 0, 1)[None]  # channels_last: torch's fast path
    crops = {key: crop.numpy() for key, crop in centre_crops(pixels, on_torch).items()}
    for preprocessing in preprocessings:
        key = geometry_key(preprocessing.geometry)
        if key not in crops:
            crops[key] = _pil_crop(image, preprocessing)
    return crops


def _pil_crop(image: Image.Image, preprocessing: Preprocessing) -> np.ndarray:
    resized_w, resized_h, left, top = resized_geometry(image.width, image.height, preprocessing)
    size = preprocessing.input_size
    resized = image.resize((resized_w, resized_h), _PIL_ONLY_MODES[preprocessing.interpolation])
    return np.asarray(resized.crop((left, top, left + size, top + size)), dtype=np.uint8).transpose(2, 0, 1)


class CropDataset:
    """Map-style dataset for torch's DataLoader: (position, crops, ok). Undecodable files: ok=False."""

    def __init__(self, paths: Sequence[str], preprocessings: Sequence[Preprocessing], max_pixels: int = 0):
        self.paths = list(paths)
        self.preprocessings = list(preprocessings)
        self.max_pixels = max_pixels

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, position: int) -> tuple[int, dict[str, np.ndarray], bool]:
        if self.max_pixels:
            Image.MAX_IMAGE_PIXELS = self.max_pixels
        try:
            return position, load_crops(self.paths[position], self.preprocessings), True
        except (OSError, ValueError, Image.DecompressionBombError) as exc:
            logger.warning("cannot decode %s: %s", self.paths[position], exc)
            blank = {
                geometry_key(p.geometry): np.zeros((3, p.input_size, p.input_size), dtype=np.uint8)
                for p in self.preprocessings
            }
            return position, blank, False


@dataclass
class BatchOutput:
    """Results for one batch; arrays are aligned with `positions` (indices into the input paths)."""

    positions: list[int]
    failed: list[int]
    topk: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)  # name → (labels, probs)
    features: np.ndarray | None = None  # L2-normalised float32, of the feature model


def make_loader(dataset: CropDataset, config: InferenceConfig) -> Iterator[Any]:
    """Batches of (positions, crops by geometry, ok), collated as torch's DataLoader does."""
    import torch

    from models_zoo import device_decode

    if config.device_decode and device_decode.supports(dataset.preprocessings):
        return device_decode.device_batches(dataset, config.batch_size, config.device)
    workers = config.workers
    if workers and multiprocessing.current_process().daemon:
        # Celery's prefork children are daemonic and may not fork loaders: run workers with --pool solo.
        logger.warning("daemonic process: decoding in threads (start inference workers with --pool solo)")
        workers = 0
    if not workers:
        return threaded_batches(dataset, config.batch_size)
    return torch.utils.data.DataLoader(
        dataset,
        batch_size=config.batch_size,
        num_workers=workers,
        pin_memory=config.device.startswith("cuda"),
        prefetch_factor=4 if workers else None,
        persistent_workers=False,
    )


# Images decoded together by the thread pool: groups of 16 keep the threads evenly busy (3.5 ms of wall
# time per image on 2 cores, against 5 ms when each batch of 4 was decoded on its own).
DECODE_GROUP = 16


def threaded_batches(dataset: CropDataset, batch_size: int) -> Iterator[Any]:
    """Decode with one thread per core, a group of images at a time, then hand over its batches.

    Decoding does not overlap the forward passes (see the module docstring).
    """
    from torch.utils.data import default_collate

    group = max(batch_size, DECODE_GROUP // batch_size * batch_size)
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1, thread_name_prefix="decode") as pool:
        for start in range(0, len(dataset), group):
            items = list(pool.map(dataset.__getitem__, range(start, min(start + group, len(dataset)))))
            for offset in range(0, len(items), batch_size):
                yield default_collate(items[offset : offset + batch_size])


def forward_batch(
    models: Sequence[LoadedModel],
    crops: dict[str, Any],
    config: InferenceConfig,
    topk: int,
    feature_model: str | None = None,
) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], np.ndarray | None]:
    """Run every model on its crops (NCHW tensors of 0-255 values by geometry key): top-k and features.

    On CUDA and for frozen graphs a short batch is padded to the configured size: a new batch shape costs
    seconds on CUDA (kernel selection for the new shape) and ~0.5 s for a fused graph (models_zoo.graphs),
    more than computing the padding. On CUDA with `config.frozen` the ensemble runs as one captured CUDA
    graph (models_zoo.cuda_graphs). Results are copied to the host once every model has been queued.
    """
    count = len(next(iter(crops.values())))
    if (config.device.startswith("cuda") or config.frozen) and count < config.batch_size:
        crops = {key: _padded(batch, config.batch_size) for key, batch in crops.items()}
    compute = functools.partial(_ensemble_outputs, models, config, topk, feature_model)
    captured = None
    if config.frozen and config.device.startswith("cuda"):
        from models_zoo.cuda_graphs import captured_ensemble

        key = (config.channels_last, config.bf16, topk, feature_model)
        captured = captured_ensemble(models, crops, config.device, compute, key)
    on_device, pooled = captured(crops) if captured is not None else compute(crops)
    results = {
        name: (labels[:count].cpu().numpy(), values[:count].cpu().numpy())
        for name, (values, labels) in on_device.items()
    }
    return results, None if pooled is None else pooled[:count].cpu().numpy()


def _ensemble_outputs(
    models: Sequence[LoadedModel], config: InferenceConfig, topk: int, feature_model: str | None, crops: dict[str, Any]
) -> tuple[dict[str, tuple[Any, Any]], Any]:
    """On the device: each model's top-k (probabilities, labels) and the feature model's normalised features."""
    import torch

    outputs, features = {}, None
    normalised: dict[tuple, Any] = {}
    # cache_enabled=False: autocast's weight cache cannot live inside a captured CUDA graph.
    with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16, enabled=config.bf16, cache_enabled=False):
        for model in models:
            prep = model.preprocessing
            key = (geometry_key(prep.geometry), prep.mean, prep.std)
            if key not in normalised:
                normalised[key] = _normalise(crops[key[0]], prep, config)
            pooled, logits = model.runner(normalised[key])
            if model.name == feature_model:
                features = torch.nn.functional.normalize(pooled.float(), dim=1)
            outputs[model.name] = torch.softmax(logits.float(), dim=1).topk(topk, dim=1)
    return outputs, features


def _padded(batch: Any, size: int) -> Any:
    import torch

    padding = batch.new_zeros((size - len(batch), *batch.shape[1:]))
    return torch.cat([batch, padding])


def _normalise(batch: Any, prep: Preprocessing, config: InferenceConfig) -> Any:
    import torch

    x = batch.to(config.device, non_blocking=True)
    if config.channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    mean, inverse_std = _scaling(prep.mean, prep.std, config.device)
    return x.float().sub_(mean).mul_(inverse_std)


@functools.cache
def _scaling(mean: tuple[float, ...], std: tuple[float, ...], device: str) -> tuple[Any, Any]:
    """(mean, 1/std) in uint8 units as (1, 3, 1, 1) tensors on the device, made once."""
    import torch

    mean_tensor = torch.tensor(mean, device=device).view(1, 3, 1, 1) * 255.0
    return mean_tensor, 1.0 / (torch.tensor(std, device=device).view(1, 3, 1, 1) * 255.0)


def run_ensemble(
    models: Sequence[LoadedModel],
    paths: Sequence[str],
    config: InferenceConfig,
    topk: int = 5,
    feature_model: str | None = None,
    max_pixels: int = 0,
) -> Iterator[BatchOutput]:
    """Yield one BatchOutput per batch of `paths` (decoding as `make_loader` arranges, or in CPU lanes).

    In lanes, batches come in the order they finish.
    """
    from models_zoo import lanes

    if not models:
        raise InferenceError("no models to run")
    dataset = CropDataset(paths, [m.preprocessing for m in models], max_pixels=max_pixels)
    if config.device == "cpu" and config.lanes > 1 and len(paths) > config.batch_size and lanes.can_fork():
        _warm_up_for_lanes(models, config)
        work = functools.partial(_decode_and_forward, models, dataset, config, topk, feature_model)
        yield from lanes.run_in_lanes(work, lanes.batch_spans(len(paths), config.batch_size), config.lanes)
        return
    for positions, crops, ok in make_loader(dataset, config):
        yield _batch_output(positions, ok, *forward_batch(models, crops, config, topk, feature_model))


_WARMED_FOR_LANES: set[tuple] = set()


def _warm_up_for_lanes(models: Sequence[LoadedModel], config: InferenceConfig) -> None:
    """Run two blank batches with one torch thread, once per process, before lanes are forked.

    What a lane's first batches build (oneDNN kernels for one thread, the graphs' specialisation to the
    batch size) is then inherited by every lane of every chunk instead of being built in each: without
    this, a lane's first two batches took 0.2 s instead of 0.13 s.
    """
    import torch

    key = (tuple(id(model.runner) for model in models), config.batch_size)
    if key in _WARMED_FOR_LANES:
        return
    crops = {
        geometry_key(model.preprocessing.geometry): torch.zeros(
            (config.batch_size, 3, model.preprocessing.input_size, model.preprocessing.input_size), dtype=torch.uint8
        )
        for model in models
    }
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for _ in range(2):
            forward_batch(models, crops, config, 1)
    finally:
        torch.set_num_threads(threads)
    _WARMED_FOR_LANES.add(key)


def _decode_and_forward(
    models: Sequence[LoadedModel], dataset: CropDataset, config: InferenceConfig, topk: int,
    feature_model: str | None, span: tuple[int, int],
) -> BatchOutput:
    """One lane's batch: decode the dataset's items in `span`, then run the models on them."""
    from torch.utils.data import default_collate

    positions, crops, ok = default_collate([dataset[position] for position in range(*span)])
    return _batch_output(positions, ok, *forward_batch(models, crops, config, topk, feature_model))


def _batch_output(positions: Any, ok: Any, topk_by_model: dict, features: np.ndarray | None) -> BatchOutput:
    """Drop the images that could not be decoded from a batch's results."""
    keep = ok.numpy().astype(bool)
    return BatchOutput(
        positions=[int(p) for p, good in zip(positions, keep, strict=True) if good],
        failed=[int(p) for p, good in zip(positions, keep, strict=True) if not good],
        topk={name: (labels[keep], probs[keep]) for name, (labels, probs) in topk_by_model.items()},
        features=None if features is None else features[keep],
    )
