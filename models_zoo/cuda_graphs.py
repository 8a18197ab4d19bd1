"""The ensemble's forward pass on CUDA, captured once as a CUDA graph and replayed for every batch.

Eager PyTorch launches every kernel from Python: for the three EfficientNet-Lites under bf16 autocast that
is about a thousand launches a batch, each holding the GIL for microseconds that the decoding thread and
the storing of results also need. A replayed graph launches them all in one call, and runs them without the
gaps between launches. Inputs and outputs live in fixed buffers: a batch is copied in, the graph replayed,
the outputs read; batches are padded to the captured size (models_zoo.inference.forward_batch).
`RELABEL_INFERENCE_GRAPH=eager` runs the eager modules instead.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from models_zoo.weights import LoadedModel

logger = logging.getLogger(__name__)

Outputs = tuple[dict[str, tuple[Any, Any]], Any]  # model name → (top-k values, labels), pooled features
WARM_UP_CALLS = 3  # run on a side stream before capture, as CUDA graph capture requires


class CapturedEnsemble:
    """`compute(inputs)` captured with static `inputs` (one (B, 3, S, S) float buffer per geometry key)."""

    def __init__(self, compute: Callable[[dict[str, Any]], Outputs], inputs: dict[str, Any]):
        import torch

        self.inputs = inputs
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(WARM_UP_CALLS):
                compute(inputs)
        torch.cuda.current_stream().wait_stream(side)
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph):
            self.outputs = compute(inputs)

    def __call__(self, crops: dict[str, Any]) -> Outputs:
        for key, batch in crops.items():
            self.inputs[key].copy_(batch, non_blocking=True)
        self.graph.replay()
        return self.outputs


_CAPTURED: dict[tuple, CapturedEnsemble | None] = {}


def captured_ensemble(
    models: Sequence[LoadedModel], crops: dict[str, Any], device: str, compute: Callable[[dict[str, Any]], Outputs],
    key: tuple,
) -> CapturedEnsemble | None:
    """The ensemble captured for batches shaped like `crops`, once per process and `key`; None (run eager)
    when capture fails, which is logged once."""
    import torch

    shapes = tuple(sorted((name, tuple(batch.shape)) for name, batch in crops.items()))
    cache_key = (tuple(id(model.runner) for model in models), device, shapes, *key)
    if cache_key not in _CAPTURED:
        inputs = {name: torch.zeros(batch.shape, device=device) for name, batch in crops.items()}
        try:
            _CAPTURED[cache_key] = CapturedEnsemble(compute, inputs)
        except RuntimeError as exc:
            logger.warning("the ensemble runs eager: CUDA graph capture failed: %s", exc)
            _CAPTURED[cache_key] = None
    return _CAPTURED[cache_key]
