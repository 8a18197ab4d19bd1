"""Build batches of HITs: CONTAINS grids (with gold controls) and CLASSIFY items.

A batch is keyed by a digest of its inputs (dataset, task, options and the exact items), stored in
`Batch.key` under a unique constraint: running the same builder twice returns the existing batch
instead of creating a second one. Change `--seed` or `--name` to build a deliberate second round.
"""

import hashlib
import json
import math
import random
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from itertools import groupby
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q
from django.utils.module_loading import import_string

from annotation.models import CandidateLabel, ContainsJudgment, Dataset, Image, LabelClass
from tasks import pricing
from tasks.models import Batch, GoldLabel, Hit, HitItem, Provider, TaskKind
from tasks.quality import counted

BULK_SIZE = 5000
# MTurk's commission: 20% of the reward, 40% for HITs with 10 or more assignments.
# A known positive from earlier work: the original label, selected by a majority of at least this many.
GOLD_POSITIVE_MIN_SHOWN = 3


class BuildError(Exception):
    """The batch cannot be built as asked; the message says why and what to do."""


@dataclass(frozen=True)
class ContainsOptions:
    grid: int = 48
    assignments: int = 9
    reward: Decimal = Decimal("0.10")
    gold: int = 4
    provider: str = Provider.LOCAL
    seed: int = 0
    negatives: str = "similar"
    name: str = ""
    adaptive: dict | None = None  # tasks.adaptive settings (and, for a top-up, its round), None: fixed
    max_hits: int = 0  # 0: every grid; else the first grids only (a small trial batch)


@dataclass(frozen=True)
class ClassifyOptions:
    assignments: int = 9
    reward: Decimal = Decimal("0.10")
    per_hit: int = 10
    provider: str = Provider.LOCAL
    seed: int = 0
    name: str = ""
    sf_ratio: float = 0.5
    min_workers: int = 5
    adaptive: dict | None = None


@dataclass
class BuildResult:
    batch: Batch
    created: bool
    n_hits: int
    n_items: int
    cost: Decimal
    warnings: list[str] = field(default_factory=list)


def batch_cost(n_hits: int, assignments: int, reward: Decimal, provider: str) -> Decimal:
    """Total cost in dollars of `n_hits` HITs: rewards plus the platform's fee (MTurk's, Prolific's), to the cent."""
    rate = pricing.platform_fee_rate(provider, assignments)
    total = Decimal(n_hits * assignments) * Decimal(reward) * (1 + rate)
    return total.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def validate_common(assignments: int, reward: Decimal, provider: str) -> None:
    if assignments < 1:
        raise BuildError("--assignments must be at least 1")
    if reward < 0:
        raise BuildError("--reward cannot be negative")
    if provider not in Provider.values or provider in (Provider.IMPORT,):
        raise BuildError(f"unknown provider {provider!r}: use local, sandbox, production, simulator or link")


def batch_key(dataset: Dataset, kind: str, options: dict, content: Iterable) -> str:
    digest = hashlib.sha256()
    digest.update(json.dumps([dataset.name, kind, options], sort_keys=True, default=str).encode())
    for row in content:
        digest.update(repr(row).encode())
    return digest.hexdigest()


def options_dict(options: ContainsOptions | ClassifyOptions) -> dict:
    """The options as stored in Batch.options and hashed into the batch key. Options that came later are left
    out at their neutral value (`adaptive` unset, `max_hits` 0), so a batch built before them keeps its key and
    the same command still finds it."""
    return {
        key: str(value) if isinstance(value, Decimal) else value
        for key, value in asdict(options).items()
        if not (key == "adaptive" and value is None) and not (key == "max_hits" and value == 0)
    }


# --- CONTAINS -------------------------------------------------------------------------------------


def common_depth(path_a: Sequence, path_b: Sequence) -> int:
    """Length of the common prefix of two hypernym paths (root first): depth of the deepest common ancestor."""
    depth = 0
    for node_a, node_b in zip(path_a, path_b, strict=False):
        if node_a[0] != node_b[0]:
            break
        depth += 1
    return depth


def _similarity_key(label: LabelClass, mode: str):
    if mode == "distant":
        return lambda o: (o.superclass == label.superclass, common_depth(label.hypernyms, o.hypernyms))
    return lambda o: -common_depth(label.hypernyms, o.hypernyms)


def negative_classes(label: LabelClass, others: Sequence[LabelClass], mode: str = "similar") -> list[LabelClass]:
    """Other classes ordered as sources of known negatives for `label`.

    "similar": deepest common ancestor first (sibling breeds before other dogs before other mammals);
    "distant": classes of another superclass first, shallowest common ancestor first. Ties by index.
    """
    key = _similarity_key(label, mode)
    return sorted((o for o in others if o.pk != label.pk), key=lambda o: (key(o), o.index))


def _known_positive_images(dataset: Dataset) -> dict[int, set[int]]:
    """label id → images of that original label that a majority of accepted workers selected, or marked +."""
    counts = (
        ContainsJudgment.objects.filter(
            counted("assignment__"), image__dataset=dataset, label_id=F("image__original_label_id")
        )
        .values("image_id", "label_id")
        .annotate(shown=Count("id"), chosen=Count("id", filter=Q(selected=True)))
        .filter(shown__gte=GOLD_POSITIVE_MIN_SHOWN, chosen__gt=F("shown") - F("chosen"))
    )
    positives: dict[int, set[int]] = defaultdict(set)
    for row in counts:
        positives[row["label_id"]].add(row["image_id"])
    for image_id, label_id in GoldLabel.objects.filter(image__dataset=dataset, is_positive=True).values_list(
        "image_id", "label_id"
    ):
        positives[label_id].add(image_id)
    return positives


def _negative_pool(
    label: LabelClass, by_class: dict[int, list[int]], classes: dict[int, LabelClass],
    excluded: set[int], marked: Sequence[int], need: int, mode: str,
) -> list[int]:
    """Marked negatives, then images of the most similar classes, one similarity tier at a time.

    Whole tiers are taken (all classes equally close) until the pool holds `need` images.
    """
    pool = [image for image in marked if image not in excluded]
    key = _similarity_key(label, mode)
    ordered = negative_classes(label, [classes[pk] for pk in by_class], mode)
    for _, tier in groupby(ordered, key=key):
        if len(pool) >= need:
            break
        for other in tier:
            pool.extend(image for image in by_class[other.pk] if image not in excluded)
    return pool


@dataclass
class _ContainsPlan:
    grids: list[tuple[int, list[tuple[int, str]]]]  # (label id, [(image id, role)])
    warnings: dict[int, str]  # label id → why its grids have fewer gold controls than asked


def plan_contains(dataset: Dataset, options: ContainsOptions, pairs: dict[int, list[int]]) -> _ContainsPlan:
    """Pack each label's candidate images into shuffled grids with gold controls (no database writes)."""
    n_pos, n_neg = math.ceil(options.gold / 2), options.gold // 2
    per_grid = options.grid - options.gold
    by_class = _images_by_class(dataset)
    classes = LabelClass.objects.in_bulk(set(pairs) | set(by_class))
    positives = _known_positive_images(dataset) if n_pos else {}
    marked_neg: dict[int, list[int]] = defaultdict(list)
    for image_id, label_id in GoldLabel.objects.filter(image__dataset=dataset, is_positive=False).values_list(
        "image_id", "label_id"
    ):
        marked_neg[label_id].append(image_id)
    plan = _ContainsPlan([], {})
    for label_id in sorted(pairs, key=lambda pk: classes[pk].index):
        label = classes[label_id]
        rng = random.Random(f"{options.seed}:{label.index}")
        images = sorted(pairs[label_id])
        rng.shuffle(images)
        candidates = set(images)
        pos_pool = sorted(positives.get(label_id, set()))
        neg_pool = (
            _negative_pool(label, by_class, classes, candidates | set(pos_pool), marked_neg[label_id], n_neg,
                           options.negatives) if n_neg else []
        )
        short = False
        for start in range(0, len(images), per_grid):
            chunk = images[start:start + per_grid]
            in_grid = set(chunk)
            gold_pos = _sample(rng, [i for i in pos_pool if i not in in_grid], n_pos)
            gold_neg = _sample(rng, [i for i in neg_pool if i not in in_grid], n_neg)
            short = short or len(gold_pos) < n_pos or len(gold_neg) < n_neg
            tiles = [(i, HitItem.Role.CANDIDATE) for i in chunk]
            tiles += [(i, HitItem.Role.GOLD_POSITIVE) for i in gold_pos]
            tiles += [(i, HitItem.Role.GOLD_NEGATIVE) for i in gold_neg]
            rng.shuffle(tiles)
            plan.grids.append((label_id, tiles))
        if short:
            plan.warnings[label_id] = (
                f"class {label.index} ({label.name}): fewer gold controls than asked "
                f"({len(pos_pool)} known positives, {len(neg_pool)} known negatives available)"
            )
    return plan


def _sample(rng: random.Random, pool: list[int], count: int) -> list[int]:
    return rng.sample(pool, min(count, len(pool)))


def _images_by_class(dataset: Dataset) -> dict[int, list[int]]:
    by_class: dict[int, list[int]] = defaultdict(list)
    rows = Image.objects.filter(dataset=dataset, original_label__isnull=False).values_list("original_label_id", "id")
    for label_id, image_id in rows.order_by("id").iterator(chunk_size=BULK_SIZE):
        by_class[label_id].append(image_id)
    return by_class


def _candidate_pairs(dataset: Dataset) -> dict[int, list[int]]:
    pairs: dict[int, list[int]] = defaultdict(list)
    rows = CandidateLabel.objects.filter(image__dataset=dataset).values_list("label_id", "image_id")
    for label_id, image_id in rows.order_by("label_id", "image_id").iterator(chunk_size=BULK_SIZE):
        pairs[label_id].append(image_id)
    return pairs


def build_contains_batch(dataset: Dataset, options: ContainsOptions) -> BuildResult:
    """Create a draft CONTAINS batch from the dataset's candidate labels (or return the identical one)."""
    _validate_contains(options)
    pairs = _candidate_pairs(dataset)
    if not pairs:
        raise BuildError(f"dataset {dataset.name!r} has no candidate labels: run propose_candidates first")
    return build_contains_pairs(dataset, options, pairs)


def _validate_contains(options: ContainsOptions) -> None:
    validate_common(options.assignments, options.reward, options.provider)
    if options.gold < 0 or options.grid - options.gold < 1:
        raise BuildError(f"--grid {options.grid} leaves no room for candidates next to --gold {options.gold}")
    if options.negatives not in ("similar", "distant"):
        raise BuildError("--negatives must be 'similar' or 'distant'")
    if options.max_hits < 0:
        raise BuildError("--max-hits cannot be negative")


def build_contains_pairs(dataset: Dataset, options: ContainsOptions, pairs: dict[int, list[int]]) -> BuildResult:
    """Create a draft CONTAINS batch asking about `pairs` (label id → image ids), grids with gold controls."""
    _validate_contains(options)
    content = ((label, tuple(sorted(images))) for label, images in sorted(pairs.items()))
    key = batch_key(dataset, TaskKind.CONTAINS, options_dict(options), content)
    existing = Batch.objects.filter(key=key).first()
    if existing:
        return existing_result(existing)
    plan = plan_contains(dataset, options, pairs)
    if options.max_hits:
        plan.grids = plan.grids[:options.max_hits]
    grids = [(label_id, [(image, role, []) for image, role in tiles]) for label_id, tiles in plan.grids]
    result = create_batch(dataset, TaskKind.CONTAINS, options, key, grids)
    built = {label_id for label_id, _ in plan.grids}
    result.warnings = [warning for label_id, warning in plan.warnings.items() if label_id in built]
    return result


# --- CLASSIFY -------------------------------------------------------------------------------------


def build_classify_batch(dataset: Dataset, options: ClassifyOptions, items: dict[int, list[int]]) -> BuildResult:
    """Create a draft CLASSIFY batch: one item per image offering its labels (taxonomy indices).

    `items` maps image id → the labels to offer (the follow-up selection made from selection
    frequencies); images are packed `per_hit` to a HIT in a seeded random order.
    """
    validate_common(options.assignments, options.reward, options.provider)
    if options.per_hit < 1:
        raise BuildError("--per-hit must be at least 1")
    offered = {image: sorted(labels) for image, labels in items.items() if len(labels) >= 2}
    if not offered:
        raise BuildError(
            f"no image of dataset {dataset.name!r} needs CLASSIFY (none has two or more labels with "
            f"SF >= {options.sf_ratio} x SF(original)): run aggregate first, or lower --sf-ratio"
        )
    key = batch_key(dataset, TaskKind.CLASSIFY, options_dict(options), sorted(offered.items()))
    existing = Batch.objects.filter(key=key).first()
    if existing:
        return existing_result(existing)
    rng = random.Random(f"{options.seed}:classify")
    images = sorted(offered)
    rng.shuffle(images)
    grids = []
    for start in range(0, len(images), options.per_hit):
        chunk = images[start:start + options.per_hit]
        grids.append((None, [(image, HitItem.Role.CANDIDATE, _shuffled(rng, offered[image])) for image in chunk]))
    return create_batch(dataset, TaskKind.CLASSIFY, options, key, grids)


def _shuffled(rng: random.Random, labels: list[int]) -> list[int]:
    labels = list(labels)
    rng.shuffle(labels)
    return labels


# --- writing --------------------------------------------------------------------------------------


def existing_result(batch: Batch) -> BuildResult:
    n_hits = batch.hits.count()
    n_items = HitItem.objects.filter(hit__batch=batch).count()
    cost = batch_cost(n_hits, batch.assignments_per_hit, batch.reward, batch.provider)
    return BuildResult(batch, False, n_hits, n_items, cost)


def create_batch(
    dataset: Dataset, kind: str, options: ContainsOptions | ClassifyOptions, key: str,
    grids: list[tuple[int | None, list[tuple[int, str, list[int]]]]],
) -> BuildResult:
    try:
        with transaction.atomic():
            batch = Batch.objects.create(
                dataset=dataset, kind=kind, name=options.name, provider=options.provider,
                reward=options.reward, assignments_per_hit=options.assignments,
                options=options_dict(options), key=key,
            )
            hits = Hit.objects.bulk_create([Hit(batch=batch, label_id=label_id) for label_id, _ in grids])
            items = [
                HitItem(hit=hit, image_id=image, position=position, role=role, labels=labels)
                for hit, (_, tiles) in zip(hits, grids, strict=True)
                for position, (image, role, labels) in enumerate(tiles)
            ]
            HitItem.objects.bulk_create(items, batch_size=BULK_SIZE)
    except IntegrityError:
        existing = Batch.objects.filter(key=key).first()
        if existing is None:
            raise
        return existing_result(existing)
    cost = batch_cost(len(hits), options.assignments, Decimal(options.reward), options.provider)
    return BuildResult(batch, True, len(hits), len(items), cost)


# What `categorise_images` sorts images into, for the commands that print the counts.
CATEGORIES_HELP = (
    "  easy: only the original label is confident (SF >= sf-ratio x SF(original), judged by >= min-workers);\n"
    "  mis: no worker selected the original label; fu: several confident labels, so the image goes to CLASSIFY;\n"
    "  amb: the original label was judged by fewer than min-workers workers (publish more CONTAINS first)."
)


def categorise_images(dataset: Dataset, sf_ratio: float, min_workers: int) -> Any:
    """Each image's CONTAINS outcome, as the function named by settings.RELABEL_CATEGORISE_IMAGES decides.

    CLASSIFY batches follow up the images whose selection frequencies call for it. Those live in the
    aggregation layer, which reads tasks and is imported by nothing, so tasks finds it by name.
    Returns the categoriser's summary (`follow_up`, `counts_text()`).
    """
    return import_string(settings.RELABEL_CATEGORISE_IMAGES)(dataset, sf_ratio, min_workers)
