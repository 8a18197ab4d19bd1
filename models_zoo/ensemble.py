"""The candidate set of an image: union of the models' top-k plus the original label (pure).

Every candidate keeps its provenance: which models proposed it, at which rank, with which
probability. Sources merge by model, so re-running a model replaces its entries and adding a model
adds its entries without touching the others.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

PROB_DECIMALS = 6


@dataclass(frozen=True)
class Candidate:
    label: int
    is_original: bool
    sources: tuple[dict, ...]  # ({"model": name, "rank": 1, "prob": 0.61}, ...), best rank first


def rounded_prob(prob: float) -> float:
    """A probability as it is stored (PROB_DECIMALS decimals)."""
    return round(float(prob), PROB_DECIMALS)


def source(model: str, rank: int, prob: float) -> dict:
    return {"model": model, "rank": rank, "prob": rounded_prob(prob)}


def union_topk(
    predictions: Mapping[str, Sequence[tuple[int, float]]], original: int | None, topk: int
) -> list[Candidate]:
    """Union of each model's first `topk` (label, prob) pairs, plus `original` (may be None).

    Ordered by best rank, then highest probability, then label; an original label that no model
    proposed comes last. Sources are sorted as tuples and made dicts last: a GPU worker builds this
    for thousands of images a second.
    """
    by_label: dict[int, list[tuple[int, float, str]]] = {}
    for model, ranked in predictions.items():
        for rank, (label, prob) in enumerate(ranked[:topk], start=1):
            by_label.setdefault(int(label), []).append((rank, -rounded_prob(prob), model))
    if original is not None:
        by_label.setdefault(int(original), [])
    ordered = []
    for label, found in by_label.items():
        found.sort()
        order = (0, found[0][0], found[0][1], label) if found else (1, 0, 0.0, label)
        ordered.append((order, label, found))
    ordered.sort()
    return [
        Candidate(
            label=label,
            is_original=label == original,
            sources=tuple(source(model, rank, -negative) for rank, negative, model in found),
        )
        for _, label, found in ordered
    ]


def sources_json(sources: Sequence[dict]) -> str:
    """`json.dumps(sources)` for {"model", "rank", "prob"} entries, written directly (5x faster)."""
    return "[" + ", ".join(
        f'{{"model": {_quoted(item["model"])}, "rank": {int(item["rank"])}, "prob": {float(item["prob"])!r}}}'
        for item in sources
    ) + "]"


@functools.cache
def _quoted(model: str) -> str:
    return json.dumps(model)


def merge_sources(existing: Sequence[dict], new: Sequence[dict]) -> list[dict]:
    """Existing sources with every model present in `new` replaced by its new entries."""
    replaced = {item["model"] for item in new}
    kept = [item for item in existing if item.get("model") not in replaced]
    return sorted([*kept, *new], key=_source_order)


def contains_label(candidates: Sequence[Candidate], label: int) -> bool:
    """Whether some model (not just the original label) proposed `label`."""
    return any(c.label == label and c.sources for c in candidates)


def _source_order(item: dict) -> tuple:
    return (item["rank"], -item["prob"], item["model"])
