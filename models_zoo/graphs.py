"""What a loaded model runs: its pooled features and logits in one call, eager or as a frozen graph.

On the CPU the ensemble runs TorchScript graphs traced at the model's fixed input size and frozen:
weights become constants, BatchNorm folds into the convolutions and the TF-"same" padding of the
EfficientNet-Lite ports becomes constant pads. Measured on the 2-core CPU (docs/benchmarks.md), this
runs the three-model ensemble 1.3-1.9 times as fast as eager PyTorch, with the same top-5 labels
(tests/models_zoo/test_frozen_graphs.py). The graphs run with oneDNN Graph fusion (a convolution and its
ReLU6 or residual add in one kernel): 1.15-1.25 times as fast again, same top-5 labels, probabilities
within 1e-5. It is a process-wide TorchScript switch, and these graphs are the only TorchScript here.
Fused kernels are built per batch shape (~0.5 s), so inference pads short batches to the batch size.
`torch.jit.freeze` is marked deprecated in favour of `torch.compile`, whose CPU graphs were at most 15%
faster here but took minutes to compile cold, against about a second; torch is pinned in
constraints.txt, and a model that cannot be traced runs eager.

Frozen graphs are kept on disk (`cache`, under RELABEL_VAR_DIR/graphs, named by a digest of the model,
its weights' version, torch, timm and the input geometry), so a worker loads one in ~0.2 s instead of
tracing for ~1 s. Loading a TorchScript file runs its graph: that folder, like the rest of the var
directory, must be writable by the service alone.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

# Traced at this batch size; the graphs accept any batch size (the last batch of a chunk is smaller).
TRACE_BATCH_SIZE = 4


class GraphError(RuntimeError):
    """A model could not be turned into a frozen graph."""


def pooled_and_logits(module: Any) -> Any:
    """An nn.Module returning (pooled penultimate features, logits) of a timm classifier."""
    import torch

    class PooledAndLogits(torch.nn.Module):
        def __init__(self, classifier: torch.nn.Module):
            super().__init__()
            self.classifier = classifier

        def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            pooled = self.classifier.forward_head(self.classifier.forward_features(x), pre_logits=True)
            return pooled, self.classifier.get_classifier()(pooled)

    return PooledAndLogits(module).eval()


def frozen_graph(module: Any, input_size: int, channels_last: bool, cache: Path | None = None) -> Any:
    """Trace `pooled_and_logits(module)` on a CPU batch of `input_size` images and freeze it.

    A graph saved at `cache` is loaded instead (an unreadable one is traced again and replaced).
    Two warm-up calls let TorchScript's profiling executor specialise the graph before real batches.
    Raises GraphError when the architecture cannot be traced (data-dependent control flow, say).
    """
    import torch

    graph = cached_graph(cache, input_size, channels_last) if cache is not None else None
    if graph is not None:
        return graph
    example = _example(input_size, channels_last)
    try:
        with _without_deprecation_warnings(), torch.inference_mode():
            warnings.simplefilter("ignore", category=torch.jit.TracerWarning)
            graph = torch.jit.freeze(torch.jit.trace(pooled_and_logits(module), example, check_trace=False))
            _warm_up(graph, example)
    except Exception as exc:  # tracing can fail in many ways, all of which mean "run it eager"
        raise GraphError(f"cannot trace {type(module).__name__}: {type(exc).__name__}: {exc}") from exc
    if cache is not None:
        _save(graph, cache)
    return graph


@contextlib.contextmanager
def _without_deprecation_warnings() -> Iterator[None]:
    """TorchScript's FutureWarnings: the choice is explained in this module's docstring."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=FutureWarning)
        yield


def _example(input_size: int, channels_last: bool) -> Any:
    """A blank batch to trace or warm up with; switches oneDNN fusion on before any graph runs."""
    import torch

    torch.jit.enable_onednn_fusion(True)
    example = torch.zeros(TRACE_BATCH_SIZE, 3, input_size, input_size)
    return example.contiguous(memory_format=torch.channels_last) if channels_last else example


def _warm_up(graph: Any, example: Any) -> None:
    import torch

    with torch.inference_mode():
        for _ in range(2):
            graph(example)


def cached_graph(cache: Path, input_size: int, channels_last: bool) -> Any | None:
    """The frozen graph kept at `cache`, warmed up; None when there is none or it cannot be read."""
    if not cache.exists():
        return None
    import torch

    example = _example(input_size, channels_last)
    try:
        with _without_deprecation_warnings():
            graph = torch.jit.load(str(cache), map_location="cpu")
        _warm_up(graph, example)
    except Exception as exc:  # a truncated or foreign file: removed, to be traced again
        logger.warning("ignoring unreadable frozen graph %s: %s", cache, exc)
        cache.unlink(missing_ok=True)
        return None
    return graph


def _save(graph: Any, cache: Path) -> None:
    """Write atomically (workers may save the same graph at once); a read-only disk only costs speed."""
    import torch

    temporary = None
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=cache.parent, suffix=".tmp", delete=False) as handle, \
                _without_deprecation_warnings():
            temporary = handle.name
            torch.jit.save(graph, temporary)
        os.replace(temporary, cache)
    except (OSError, RuntimeError) as exc:  # torch's writer reports a full disk as a RuntimeError
        logger.warning("cannot keep the frozen graph at %s: %s", cache, exc)
        if temporary is not None:
            Path(temporary).unlink(missing_ok=True)


def runner_for(
    module: Any, input_size: int, device: str, channels_last: bool, frozen: bool, name: str,
    cache: Path | None = None,
) -> Any:
    """The callable that inference uses: a frozen graph on the CPU when asked, else the eager module."""
    if frozen and device == "cpu":
        try:
            return frozen_graph(module, input_size, channels_last, cache)
        except GraphError as exc:
            logger.warning("%s runs eager: %s", name, exc)
    return pooled_and_logits(module)
