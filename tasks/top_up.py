"""Rounds of adaptive redundancy: which items are still undecided, and new HITs for them only.

`create_hits --adaptive` stores the settings (tasks.adaptive.AdaptiveSettings) in the first round's
Batch.options["adaptive"]; every top-up batch carries them too, with `first_batch` and `round`.
The items in scope are the candidate items of those batches: (image, label) pairs for CONTAINS,
images for CLASSIFY. Their answers are read from counted assignments only (tasks.quality.counted),
so work the platform has not confirmed, or that failed quality control, is asked again.

An image with an item in a HIT that is not finished yet (draft, publishing, published) is waiting:
it is neither judged nor asked again until that work is in. A top-up of a dataset's task runs under a
row lock of its first batch, and its batch key covers the round and its items, so a repeated or
concurrent top-up creates nothing twice. CONTAINS decisions are modelled at sf_ratio 0.5 (the paper's).
"""

from collections import defaultdict
from dataclasses import dataclass, field, fields
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, Q, QuerySet

from annotation.models import ClassifyResponse, ContainsJudgment, Dataset, Image
from tasks.adaptive import AdaptiveSettings, classify_decided, pairs_to_ask
from tasks.builders import (
    BuildError,
    BuildResult,
    ClassifyOptions,
    ContainsOptions,
    batch_cost,
    build_classify_batch,
    build_contains_pairs,
)
from tasks.models import Batch, Hit, HitItem, TaskKind
from tasks.quality import counted

ADAPTIVE_KINDS = (TaskKind.CONTAINS, TaskKind.CLASSIFY)
UNFINISHED_HIT = (Hit.Status.DRAFT, Hit.Status.PUBLISHING, Hit.Status.PUBLISHED)
DEFAULT_STEP = 1  # one answer per round saves most; --step 2 halves the rounds (docs/benchmarks.md)
SF_RATIO = 0.5


class TopUpError(Exception):
    """A top-up that cannot run; the message says what to do first."""


@dataclass
class TopUpPlan:
    """Where a dataset's adaptive task stands, image by image, and what to ask next."""

    kind: str
    settings: AdaptiveSettings
    images: int = 0
    decided: int = 0
    at_max: int = 0
    waiting: int = 0
    undecided: int = 0
    asks: dict = field(default_factory=dict)  # item → answers to add; item = (image id, label id) or image id

    def summary(self) -> str:
        return (f"{self.kind.upper()}: {self.images} images, {self.decided} decided "
                f"({self.at_max} of them at the maximum of {self.settings.max_assignments}), "
                f"{self.undecided} undecided, {self.waiting} waiting for answers already asked")


@dataclass
class TopUpResult:
    plan: TopUpPlan
    builds: list[BuildResult] = field(default_factory=list)


def adaptive_batches(dataset: Dataset, kind: str) -> list[Batch]:
    """The dataset's adaptive batches of `kind`, first rounds and top-ups, oldest first."""
    return list(Batch.objects.filter(dataset=dataset, kind=kind, options__has_key="adaptive").order_by("pk"))


def first_round(dataset: Dataset, kind: str) -> Batch | None:
    """The latest first-round adaptive batch of `kind` (its settings rule every top-up)."""
    firsts = [b for b in adaptive_batches(dataset, kind) if "first_batch" not in b.options["adaptive"]]
    return firsts[-1] if firsts else None


def settings_of(batch: Batch) -> AdaptiveSettings:
    return AdaptiveSettings.from_dict(batch.options["adaptive"])


def _scope_items(dataset: Dataset, kind: str) -> QuerySet:
    return HitItem.objects.filter(
        hit__batch__dataset=dataset, hit__batch__kind=kind, hit__batch__options__has_key="adaptive",
        role=HitItem.Role.CANDIDATE,
    )


def _waiting_images(dataset: Dataset, kind: str) -> set[int]:
    items = HitItem.objects.filter(
        hit__batch__dataset=dataset, hit__batch__kind=kind, hit__status__in=UNFINISHED_HIT,
        role=HitItem.Role.CANDIDATE,
    )
    return set(items.values_list("image_id", flat=True))


# --- CONTAINS --------------------------------------------------------------------------------------


def contains_counts(dataset: Dataset) -> dict[int, dict[int, tuple[int, int]]]:
    """image id → label id → (n_selected, n_shown) over the counted CONTAINS judgments."""
    rows = (
        ContainsJudgment.objects.filter(counted("assignment__"), image__dataset=dataset)
        .values("image_id", "label_id")
        .annotate(selected=Count("id", filter=Q(selected=True)), shown=Count("id"))
        .values_list("image_id", "label_id", "selected", "shown")
        .order_by()
    )
    counts: dict[int, dict[int, tuple[int, int]]] = defaultdict(dict)
    for image_id, label_id, selected, shown in rows:
        counts[image_id][label_id] = (selected, shown)
    return counts


def plan_contains_top_up(dataset: Dataset, settings: AdaptiveSettings, step: int) -> TopUpPlan:
    """Judge every image of the adaptive CONTAINS rounds; ask more of its undecided pairs."""
    scope: dict[int, set[int]] = defaultdict(set)
    for image_id, label_id in _scope_items(dataset, TaskKind.CONTAINS).values_list("image_id", "hit__label_id"):
        scope[image_id].add(label_id)
    originals = dict(Image.objects.filter(pk__in=scope).values_list("pk", "original_label_id"))
    counts = contains_counts(dataset)
    waiting = _waiting_images(dataset, TaskKind.CONTAINS)
    plan = TopUpPlan(TaskKind.CONTAINS, settings, images=len(scope))
    for image_id, labels in scope.items():
        pairs = {label: counts[image_id].get(label, (0, 0)) for label in labels}
        if image_id in waiting:
            plan.waiting += 1
            continue
        asks = _contains_asks(originals[image_id], pairs, settings, step)
        if asks:
            plan.undecided += 1
            plan.asks.update({(image_id, label): add for label, add in asks.items()})
        else:
            plan.decided += 1
            plan.at_max += all(shown >= settings.max_assignments for _, shown in pairs.values())
    return plan


def _contains_asks(original: int | None, pairs: dict[int, tuple[int, int]], settings: AdaptiveSettings,
                   step: int) -> dict[int, int]:
    """label → answers to add: up to the minimum first, then `step` for the pairs the rules ask about."""
    short = {label: settings.min_assignments - shown for label, (_, shown) in pairs.items()
             if shown < settings.min_assignments}
    if short:
        return short
    if original not in pairs:
        return {}  # no original label to compare with: the image is ambiguous whatever the answers
    labels = pairs_to_ask(original, pairs, settings, SF_RATIO)
    return {label: min(step, settings.max_assignments - pairs[label][1]) for label in labels}


# --- CLASSIFY --------------------------------------------------------------------------------------


def classify_answers(dataset: Dataset) -> dict[int, list[tuple[list[int], int]]]:
    """image id → (selected label indices, main label index) of the counted CLASSIFY responses."""
    rows = (
        ClassifyResponse.objects.filter(counted("assignment__"), image__dataset=dataset)
        .order_by("id").values_list("image_id", "selected", "main_label__index")
    )
    answers: dict[int, list[tuple[list[int], int]]] = defaultdict(list)
    for image_id, selected, main in rows:
        answers[image_id].append((selected, main))
    return answers


def plan_classify_top_up(dataset: Dataset, settings: AdaptiveSettings, step: int) -> TopUpPlan:
    """Judge every image of the adaptive CLASSIFY rounds; ask `step` more answers of the undecided ones."""
    offered = dict(_scope_items(dataset, TaskKind.CLASSIFY).order_by("pk").values_list("image_id", "labels"))
    answers = classify_answers(dataset)
    waiting = _waiting_images(dataset, TaskKind.CLASSIFY)
    plan = TopUpPlan(TaskKind.CLASSIFY, settings, images=len(offered))
    for image_id, labels in offered.items():
        given = answers.get(image_id, [])
        if image_id in waiting:
            plan.waiting += 1
        elif len(given) < settings.min_assignments:
            plan.undecided += 1
            plan.asks[image_id] = settings.min_assignments - len(given)
        elif classify_decided(given, labels, settings):
            plan.decided += 1
            plan.at_max += len(given) >= settings.max_assignments
        else:
            plan.undecided += 1
            plan.asks[image_id] = min(step, settings.max_assignments - len(given))
    return plan


# --- building the next round -----------------------------------------------------------------------


def plan_top_up(dataset: Dataset, kind: str, step: int = DEFAULT_STEP) -> TopUpPlan:
    """Where the dataset's adaptive `kind` stands and what a top-up would ask (no writes)."""
    if kind not in ADAPTIVE_KINDS:
        raise TopUpError(f"--task must be contains or classify, not {kind!r}")
    if step < 1:
        raise TopUpError("--step must be at least 1")
    first = first_round(dataset, kind)
    if first is None:
        raise TopUpError(
            f"dataset {dataset.name!r} has no adaptive {kind.upper()} batch: "
            f"run create_hits --dataset {dataset.name} --task {kind} --adaptive first"
        )
    plan = plan_contains_top_up if kind == TaskKind.CONTAINS else plan_classify_top_up
    return plan(dataset, settings_of(first), step)


def top_up(dataset: Dataset, kind: str, step: int = DEFAULT_STEP) -> TopUpResult:
    """Build draft HITs for the undecided items only (one batch per number of answers to add).

    CONTAINS regroups the undecided pairs of each label into new grids with fresh gold controls
    (seeded by the round); CLASSIFY packs the undecided images as the first round did. Nothing is
    published: publish_hits does that, as for any batch.
    """
    with transaction.atomic():
        first = first_round(dataset, kind)
        if first is not None:
            Batch.objects.select_for_update().filter(pk=first.pk).first()  # one top-up of this task at a time
        plan = plan_top_up(dataset, kind, step)
        result = TopUpResult(plan)
        round_number = 1 + sum(1 for b in adaptive_batches(dataset, kind)
                               if b.options["adaptive"].get("first_batch") == first.pk)
        by_add: dict[int, list] = defaultdict(list)
        for item, add in sorted(plan.asks.items()):
            by_add[add].append(item)
        for add, items in sorted(by_add.items()):
            result.builds.append(_build_round(dataset, first, round_number, add, items))
    return result


def _round_options(first: Batch, round_number: int, add: int, options_class: type) -> ContainsOptions | ClassifyOptions:
    """The first round's builder options for round `round_number`: `add` assignments, a new seed (fresh gold)."""
    names = {f.name for f in fields(options_class)}
    stored = {key: value for key, value in first.options.items() if key in names}
    adaptive = {**first.options["adaptive"], "first_batch": first.pk, "round": round_number}
    return options_class(**{
        **stored, "assignments": add, "reward": first.reward, "provider": first.provider, "adaptive": adaptive,
        "seed": int(stored.get("seed", 0)) + round_number,
        "name": f"{first.name or f'batch {first.pk}'} top-up {round_number}",
    })


def _build_round(dataset: Dataset, first: Batch, round_number: int, add: int, items: list) -> BuildResult:
    try:
        if first.kind == TaskKind.CONTAINS:
            pairs: dict[int, list[int]] = defaultdict(list)
            for image_id, label_id in items:
                pairs[label_id].append(image_id)
            options = _round_options(first, round_number, add, ContainsOptions)
            return build_contains_pairs(dataset, options, dict(pairs))
        offered = dict(_scope_items(dataset, TaskKind.CLASSIFY).filter(image_id__in=items)
                       .order_by("pk").values_list("image_id", "labels"))
        options = _round_options(first, round_number, add, ClassifyOptions)
        return build_classify_batch(dataset, options, {image: offered[image] for image in items})
    except BuildError as exc:
        raise TopUpError(str(exc)) from exc


# --- what adaptive redundancy saved ----------------------------------------------------------------


@dataclass(frozen=True)
class Savings:
    """One adaptive task of a dataset: items decided, judgments spent against fixed redundancy, money."""

    plan: TopUpPlan
    judgments: int
    fixed_judgments: int
    cost: Decimal
    fixed_cost: Decimal

    @property
    def saved_share(self) -> float:
        return 1 - self.judgments / self.fixed_judgments if self.fixed_judgments else 0.0

    @property
    def money_saved(self) -> Decimal:
        return self.fixed_cost - self.cost


def savings(dataset: Dataset, kind: str) -> Savings | None:
    """None without adaptive batches. Judgments: counted answers on the items in scope, against every
    item at the maximum. Cost: every HIT of the adaptive rounds at its assignments, against the first
    round's HITs at the maximum (both with the platform's fee where it charges one, as create_hits prices them)."""
    first = first_round(dataset, kind)
    if first is None:
        return None
    plan = plan_top_up(dataset, kind)
    settings = plan.settings
    batches = [b for b in adaptive_batches(dataset, kind)
               if b.pk == first.pk or b.options["adaptive"].get("first_batch") == first.pk]
    cost = sum((batch_cost(b.hits.count(), b.assignments_per_hit, b.reward, b.provider) for b in batches),
               Decimal("0.00"))
    fixed_cost = batch_cost(first.hits.count(), settings.max_assignments, first.reward, first.provider)
    if kind == TaskKind.CONTAINS:
        scope = _scope_items(dataset, kind).values_list("image_id", "hit__label_id").distinct()
        pairs = set(scope)
        judgments = sum(shown for image_id, per_label in contains_counts(dataset).items()
                        for label_id, (_, shown) in per_label.items() if (image_id, label_id) in pairs)
        items = len(pairs)
    else:
        images = set(_scope_items(dataset, kind).values_list("image_id", flat=True))
        judgments = sum(len(a) for image_id, a in classify_answers(dataset).items() if image_id in images)
        items = len(images)
    return Savings(plan, judgments, items * settings.max_assignments, cost, fixed_cost)
