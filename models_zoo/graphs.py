"""What a loaded model runs: its pooled features and logits in one call, eager or as a frozen graph.

On the CPU the ensemble runs TorchScript graphs traced at the model's fixed input size and frozen:
weights become constants, BatchNorm folds into the convolutions and the TF-"same" padding of the
EfficientNet-Lite ports becomes constant pads. Measured on the 2-core CPU (docs/benchmarks.md), this
runs the three models 1.6-1.9 times as fast as eager PyTorch, with the same top-5 labels
(tests/models_zoo/test_frozen_graphs.py). `torch.jit.freeze` is marked deprecated in favour of
`torch.compile`, whose CPU graphs were about as fast here but took 15-50 s to compile per model and
process, against 2 s; torch is pinned in constraints.txt, and a model that cannot be traced runs eager.
"""

from __future__ import annotations

import logging
import warnings
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


def frozen_graph(module: Any, input_size: int, channels_last: bool) -> Any:
    """Trace `pooled_and_logits(module)` on a CPU batch of `input_size` images and freeze it.

    Two warm-up calls let TorchScript's profiling executor specialise the graph before real batches.
    Raises GraphError when the architecture cannot be traced (data-dependent control flow, say).
    """
    import torch

    example = torch.zeros(TRACE_BATCH_SIZE, 3, input_size, input_size)
    if channels_last:
        example = example.contiguous(memory_format=torch.channels_last)
    wrapped = pooled_and_logits(module)
    try:
        with warnings.catch_warnings(), torch.inference_mode():
            warnings.simplefilter("ignore", category=FutureWarning)
            warnings.simplefilter("ignore", category=torch.jit.TracerWarning)
            graph = torch.jit.freeze(torch.jit.trace(wrapped, example, check_trace=False))
            for _ in range(2):
                graph(example)
    except Exception as exc:  # tracing can fail in many ways, all of which mean "run it eager"
        raise GraphError(f"cannot trace {type(module).__name__}: {type(exc).__name__}: {exc}") from exc
    return graph


def runner_for(module: Any, input_size: int, device: str, channels_last: bool, frozen: bool, name: str) -> Any:
    """The callable that inference uses: a frozen graph on the CPU when asked, else the eager module."""
    if frozen and device == "cpu":
        try:
            return frozen_graph(module, input_size, channels_last)
        except GraphError as exc:
            logger.warning("%s runs eager: %s", name, exc)
    return pooled_and_logits(module)
