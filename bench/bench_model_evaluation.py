"""Benchmark the model evaluation at scale: M models x N images x B bootstrap resamples.

Synthetic aggregates shaped like ImageNet's validation set after CONTAINS and CLASSIFY: N images
with an original label, ~6 judged labels each (5-10 workers), a CLASSIFY result on a fifth of them;
each model's top-5 is right with a probability between 0.55 and 0.9. Times
analytics.model_evaluation.evaluate_models (every figure with its interval) in this process.

    .venv/bin/python bench/bench_model_evaluation.py [--models 100] [--images 50000] [--resamples 1000]
"""

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from analytics.analyses import DatasetArrays  # noqa: E402
from analytics.model_evaluation import evaluate_models  # noqa: E402
from relabel.stats import _unique_rows  # noqa: E402


def synthetic(images: int, models: int, seed: int = 0) -> tuple[DatasetArrays, dict[str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    original = rng.integers(0, 1000, size=images)
    others = (original[:, None] + rng.integers(1, 1000, size=(images, 5))) % 1000
    judged = np.column_stack([original, others])
    shown = rng.integers(5, 11, size=judged.shape)
    selected = rng.binomial(shown, np.column_stack([rng.beta(5, 2, images), rng.beta(1, 4, (images, 5))]))
    classify = rng.random(images) < 0.2
    groups = [[[int(o)], [int(x)]] if c and x % 2 else [[int(o), int(x)]] if c else []
              for o, x, c in zip(original, others[:, 0], classify, strict=True)]
    data = DatasetArrays(
        image_ids=np.arange(images), external_ids=[f"i{n}" for n in range(images)], original=original,
        sf_image=np.repeat(np.arange(images), judged.shape[1]), sf_label=judged.ravel(),
        sf_selected=selected.ravel(), sf_shown=shown.ravel(), has_classify=classify,
        num_objects=np.array([len(g) for g in groups]), num_annotators=np.where(classify, 9, 0),
        main_label=np.where(classify, np.where(rng.random(images) < 0.7, original, others[:, 0]), -1),
        main_votes=[{} for _ in range(images)], object_groups=groups,
        main_object=np.zeros(images, dtype=np.int64), original_object=np.zeros(images, dtype=np.int64),
    )
    topk = {}
    for m in range(models):
        right = rng.random(images) < rng.uniform(0.55, 0.9)
        top = judged[np.arange(images)[:, None], rng.permuted(np.tile(np.arange(1, 6), (images, 1)), axis=1)]
        top[right, 0] = original[right]
        topk[f"model_{m:03d}"] = top
    return data, topk


def grouping(images: int, repeats: int = 20) -> str:
    """The bootstrap's grouping of identical image rows: row-wise np.unique vs the packed key, same input."""
    rows = np.column_stack([np.random.default_rng(1).random(images) < 0.7, np.ones(images)]).astype(np.float64)
    timings = []
    for group in (lambda: np.unique(rows, axis=0, return_inverse=True), lambda: _unique_rows(rows)):
        started = time.perf_counter()
        for _ in range(repeats):
            group()
        timings.append((time.perf_counter() - started) / repeats * 1000)
    return (f"grouping {images} (hit, in-subset) rows: np.unique(axis=0) {timings[0]:.1f} ms, packed key "
            f"{timings[1]:.1f} ms ({timings[0] / timings[1]:.0f}x)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", type=int, default=100)
    parser.add_argument("--images", type=int, default=50_000)
    parser.add_argument("--resamples", type=int, default=1000)
    args = parser.parse_args()
    data, topk = synthetic(args.images, args.models)
    started, cpu = time.perf_counter(), time.process_time()
    results = evaluate_models(data, topk, resamples=args.resamples)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    top1 = results[0].figures["top1"]
    print(f"{args.models} models x {args.images} images x {args.resamples} resamples: {seconds:.1f} s "
          f"({seconds / args.models * 1000:.0f} ms a model, {len(results[0].figures)} figures each; "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; CPU {cpu:.1f} s); "
          f"model_000 top-1 {top1.value:.4f} [{top1.low:.4f}, {top1.high:.4f}]")
    print(grouping(args.images))


if __name__ == "__main__":
    main()
