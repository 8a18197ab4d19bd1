"""Build batches of 1000-way labeling HITs: a few images per HIT, each labeled with up to 5 classes.

Like the other builders, a batch is keyed by its inputs (tasks.builders): the same command twice
returns the existing batch. Practice batches show the answer and the model prediction on request
and their responses are kept apart from the evaluation.
"""

import random
from argparse import ArgumentParser
from dataclasses import dataclass
from decimal import Decimal

from annotation.models import Dataset, Image
from label1000.services import DEFAULT_PRUNE_TOP_K
from tasks.builders import (
    BuildError,
    BuildResult,
    batch_key,
    create_batch,
    existing_result,
    options_dict,
    validate_common,
)
from tasks.models import Batch, HitItem, Provider, TaskKind


@dataclass(frozen=True)
class Label1000Options:
    assignments: int = 1
    reward: Decimal = Decimal("0.10")
    per_hit: int = 10
    provider: str = Provider.LOCAL
    seed: int = 0
    name: str = ""
    practice: bool = False
    prune_top_k: int = DEFAULT_PRUNE_TOP_K
    limit: int = 0


def add_arguments(parser: ArgumentParser) -> None:
    """create_hits options that only the label1000 task reads."""
    parser.add_argument("--practice", action="store_true",
                        help="LABEL1000: practice batch (show answer / model prediction; not evaluated)")
    parser.add_argument("--prune-top-k", type=int, default=DEFAULT_PRUNE_TOP_K,
                        help="LABEL1000: size of the optional class list pruned to the model ensemble's top-K")
    parser.add_argument("--limit", type=int, default=0,
                        help="LABEL1000: label a seeded random sample of this many images (0: all)")


def options_from(opts: dict, common: dict) -> Label1000Options:
    return Label1000Options(per_hit=opts["per_hit"], practice=opts["practice"], prune_top_k=opts["prune_top_k"],
                            limit=opts["limit"], **common)


def build_label1000_batch(dataset: Dataset, options: Label1000Options) -> BuildResult:
    """Create a draft label1000 batch over the dataset's images with a file (or return the identical one)."""
    validate_common(options.assignments, options.reward, options.provider)
    if options.per_hit < 1:
        raise BuildError("--per-hit must be at least 1")
    if not 1 <= options.prune_top_k <= 1000:
        raise BuildError("--prune-top-k must be between 1 and 1000")
    if options.limit < 0:
        raise BuildError("--limit cannot be negative")
    images = sorted(Image.objects.filter(dataset=dataset).exclude(file="").values_list("pk", flat=True))
    if not images:
        raise BuildError(f"dataset {dataset.name!r} has no image files: import them with import_images first")
    rng = random.Random(f"{options.seed}:label1000")
    rng.shuffle(images)
    if options.limit:
        images = images[:options.limit]
    key = batch_key(dataset, TaskKind.LABEL1000, options_dict(options), images)
    existing = Batch.objects.filter(key=key).first()
    if existing:
        return existing_result(existing)
    grids = [
        (None, [(image, HitItem.Role.CANDIDATE, []) for image in images[start:start + options.per_hit]])
        for start in range(0, len(images), options.per_hit)
    ]
    return create_batch(dataset, TaskKind.LABEL1000, options, key, grids)

