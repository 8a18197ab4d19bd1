"""Adaptive rounds end to end: simulated annotators answer through the real submission service, top-ups
follow until nothing is left to ask; every item ends decided or at its maximum, no worker judges an item twice."""

from collections import Counter

import pytest

from annotation.models import ClassifyResponse, ContainsJudgment
from tasks.adaptive import AdaptiveSettings, classify_decided, contains_decided
from tasks.builders import ClassifyOptions, ContainsOptions, build_classify_batch, build_contains_batch
from tasks.models import HitItem, Provider, TaskKind
from tasks.quality import counted
from tasks.simulators.annotators import simulate
from tasks.top_up import classify_answers, contains_counts, plan_top_up, savings, top_up
from tests.analytics.demo_data import build_candidates

pytestmark = pytest.mark.django_db
SETTINGS = AdaptiveSettings(min_assignments=3, max_assignments=7, alpha=0.05)
MAX_ROUNDS = 10


def run_rounds(dataset, kind: str) -> int:
    """Answer, top up, answer ... until a top-up creates nothing; returns the number of top-up rounds."""
    for rounds in range(MAX_ROUNDS):
        simulate(dataset.name, kind, workers=SETTINGS.max_assignments, accuracy=0.8, noise=0.1, seed=rounds)
        result = top_up(dataset, kind, step=2)
        if not result.builds:
            return rounds
    raise AssertionError(f"still topping up after {MAX_ROUNDS} rounds")


def candidate_judgments() -> list[tuple[int, int]]:
    """(image, label) of every counted judgment given on a candidate tile (gold tiles answer controls)."""
    candidates = set(HitItem.objects.filter(role=HitItem.Role.CANDIDATE).values_list("hit_id", "image_id"))
    judgments = ContainsJudgment.objects.filter(counted("assignment__")).values_list(
        "assignment__hit_id", "image_id", "label_id")
    return [(image, label) for hit, image, label in judgments if (hit, image) in candidates]


def assert_no_item_seen_twice(kind: str) -> None:
    items = HitItem.objects.filter(role=HitItem.Role.CANDIDATE, hit__batch__kind=kind)
    seen = Counter(items.values_list("hit__assignments__worker_id", "image_id", "hit__label_id"))
    assert seen and max(seen.values()) == 1


def test_it_tops_up_contains_until_every_image_is_decided_or_at_its_maximum():
    dataset = build_candidates(n_images=24)
    options = ContainsOptions(grid=8, gold=2, assignments=SETTINGS.min_assignments, provider=Provider.SIMULATED,
                              adaptive=SETTINGS.as_dict())
    build_contains_batch(dataset, options)

    rounds = run_rounds(dataset, TaskKind.CONTAINS)

    assert rounds >= 1
    plan = plan_top_up(dataset, TaskKind.CONTAINS)
    assert (plan.undecided, plan.waiting, plan.decided) == (0, 0, plan.images)
    counts = contains_counts(dataset)
    scope = set(HitItem.objects.filter(hit__batch__options__has_key="adaptive", role=HitItem.Role.CANDIDATE)
                .values_list("image_id", "hit__label_id"))
    for image in dataset.images.all():
        pairs = {label: counts[image.pk][label] for i, label in scope if i == image.pk}
        assert contains_decided(image.original_label_id, pairs, SETTINGS)
    asked = Counter(candidate_judgments())
    assert min(asked.values()) >= SETTINGS.min_assignments and max(asked.values()) <= SETTINGS.max_assignments
    assert_no_item_seen_twice(TaskKind.CONTAINS)
    spent = savings(dataset, TaskKind.CONTAINS)
    assert spent.judgments < spent.fixed_judgments


def test_it_tops_up_classify_until_every_image_is_decided_or_at_its_maximum():
    dataset = build_candidates(n_images=24)
    offered = {image.pk: [image.original_label.index, (image.original_label.index + 1) % 6]
               for image in dataset.images.select_related("original_label")}
    options = ClassifyOptions(per_hit=4, assignments=SETTINGS.min_assignments, provider=Provider.SIMULATED,
                              name="adaptive", adaptive=SETTINGS.as_dict())
    build_classify_batch(dataset, options, offered)

    assert run_rounds(dataset, TaskKind.CLASSIFY) >= 1

    plan = plan_top_up(dataset, TaskKind.CLASSIFY)
    assert (plan.undecided, plan.waiting, plan.decided) == (0, 0, len(offered))
    answers = classify_answers(dataset)
    adaptive_answers = ClassifyResponse.objects.filter(assignment__hit__batch__options__has_key="adaptive")
    per_image = Counter(adaptive_answers.values_list("image_id", flat=True))
    for image_id, labels in offered.items():
        assert SETTINGS.min_assignments <= per_image[image_id] <= SETTINGS.max_assignments
        assert classify_decided(answers[image_id], labels, SETTINGS)  # True at the maximum, too
    assert_no_item_seen_twice(TaskKind.CLASSIFY)
