"""Simulated annotators for the demo: clearly marked (Worker.is_simulated, provider "simulated").

A simulated worker answers from the image's true label (its original label) and the models'
scores: it selects the true label with probability `accuracy`, and any other label with
probability `noise + score` (capped at `accuracy`), where score is the highest probability a model
gave that label for the image; so labels the models find plausible look like second objects. Answers
go through the real submission service (annotation.submission.submit), as a person's would.
"""

import random
from collections import defaultdict
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from annotation.models import Dataset
from annotation.submission import submit
from models_zoo.models import Prediction
from tasks.exposure import repeats_an_item
from tasks.models import Assignment, Hit, HitItem, Provider, TaskKind, Worker
from tasks.signing import make_token
from tasks.transitions import transition_hit

OPEN_HIT_STATUSES = (Hit.Status.DRAFT, Hit.Status.PUBLISHED)
# Simulated workers are numbered; a HIT skips those who judged one of its items before (top-up rounds).
WORKER_POOL = 1000


class SimulationError(Exception):
    pass


@dataclass(frozen=True)
class Behaviour:
    accuracy: float = 0.9
    noise: float = 0.05

    def p_select(self, label: int, true_label: int | None, score: float) -> float:
        if label == true_label:
            return self.accuracy
        return min(self.accuracy, self.noise + score)


@dataclass
class SimulationSummary:
    hits: int = 0
    assignments: int = 0


def simulated_worker(number: int) -> Worker:
    """Simulated worker `number` (created once, reused by every run)."""
    worker, _ = Worker.objects.get_or_create(
        provider=Provider.SIMULATED, external_id=f"simulated-{number:03d}", defaults={"is_simulated": True}
    )
    return worker


def crew_for(hit: Hit, count: int) -> list[Worker]:
    """The first `count` simulated workers who may answer this HIT: those who already hold one of its
    assignments, and those who never judged one of its items (tasks.exposure)."""
    holding = set(hit.assignments.values_list("worker_id", flat=True))
    crew = []
    for number in range(WORKER_POOL):
        if len(crew) == count:
            break
        worker = simulated_worker(number)
        if worker.pk in holding or not repeats_an_item(hit, worker):
            crew.append(worker)
    return crew


def model_scores(image_ids: list[int]) -> dict[int, dict[int, float]]:
    """image id → label → the highest probability any model gave it."""
    scores: dict[int, dict[int, float]] = defaultdict(dict)
    for image_id, labels, probs in Prediction.objects.filter(image_id__in=image_ids).values_list(
        "image_id", "labels", "probs"
    ):
        for label, prob in zip(labels, probs, strict=False):
            scores[image_id][label] = max(prob, scores[image_id].get(label, 0.0))
    return scores


def contains_answer(hit: Hit, items: list[HitItem], behaviour: Behaviour, scores: dict, rng: random.Random) -> dict:
    """{"selected": [image ids]} for a CONTAINS grid showing class `hit.label`."""
    label = hit.label.index
    selected = []
    for item in items:
        truth = item.image.original_label.index if item.image.original_label else None
        if item.role == HitItem.Role.GOLD_POSITIVE:
            truth = label
        elif item.role == HitItem.Role.GOLD_NEGATIVE:
            truth = None
        score = 0.0 if item.role == HitItem.Role.GOLD_NEGATIVE else scores.get(item.image_id, {}).get(label, 0.0)
        if rng.random() < behaviour.p_select(label, truth, score):
            selected.append(item.image_id)
    return {"selected": selected}


def classify_answer(items: list[HitItem], behaviour: Behaviour, scores: dict, rng: random.Random) -> dict:
    """{"answers": [{"image", "selected", "main"}]}: valid labels among those offered, and the main one."""
    answers = []
    for item in items:
        truth = item.image.original_label.index if item.image.original_label else None
        image_scores = scores.get(item.image_id, {})
        chances = {label: behaviour.p_select(label, truth, image_scores.get(label, 0.0)) for label in item.labels}
        selected = [label for label in item.labels if rng.random() < chances[label]]
        if not selected:
            selected = [max(item.labels, key=lambda label: (chances[label], -label))]
        if truth in selected and rng.random() < behaviour.accuracy:
            main = truth
        else:
            main = max(selected, key=lambda label: (image_scores.get(label, 0.0), -label))
        answers.append({"image": item.image_id, "selected": sorted(selected), "main": main})
    return {"answers": answers}


def open_hits(dataset: Dataset, kind: str) -> list[Hit]:
    return list(
        Hit.objects.filter(batch__dataset=dataset, batch__kind=kind, status__in=OPEN_HIT_STATUSES)
        .select_related("batch", "label")
        .order_by("id")
    )


def simulate(dataset_name: str, kind: str, workers: int = 9, accuracy: float = 0.9, noise: float = 0.05,
             seed: int = 0) -> SimulationSummary:
    """Fill every open CONTAINS or CLASSIFY HIT of the dataset with `workers` simulated answers.

    Idempotent: a worker who already submitted a HIT is skipped, so a re-run only completes what is
    missing. Each answer is drawn from a generator seeded by (seed, HIT, worker): same seed, same data.
    """
    if kind not in (TaskKind.CONTAINS, TaskKind.CLASSIFY):
        raise SimulationError(f"--task must be contains or classify, not {kind!r}")
    if not 0.0 <= accuracy <= 1.0 or not 0.0 <= noise <= 1.0:
        raise SimulationError("--accuracy and --noise must be between 0 and 1")
    dataset = Dataset.objects.filter(name=dataset_name).first()
    if dataset is None:
        raise SimulationError(f"no dataset named {dataset_name!r} (see `import_images`)")
    behaviour = Behaviour(accuracy, noise)
    summary = SimulationSummary()
    for hit in open_hits(dataset, kind):
        crew = crew_for(hit, min(workers, hit.batch.assignments_per_hit))
        summary.assignments += _fill_hit(hit, crew, behaviour, seed)
        summary.hits += 1
    return summary


def _fill_hit(hit: Hit, crew: list[Worker], behaviour: Behaviour, seed: int) -> int:
    items = list(hit.items.select_related("image__original_label").order_by("position"))
    scores = model_scores([item.image_id for item in items])
    if hit.status == Hit.Status.DRAFT:
        transition_hit(hit, Hit.Status.PUBLISHED, published_at=timezone.now())
    stored = 0
    for worker in crew:
        with transaction.atomic():
            assignment, _ = Assignment.objects.get_or_create(
                hit=hit, worker=worker,
                defaults={"confirmation": Assignment.Confirmation.CONFIRMED, "confirmed_at": timezone.now()},
            )
        if assignment.status != Assignment.Status.ACCEPTED:
            continue
        rng = random.Random(f"{seed}:{hit.pk}:{worker.external_id}")
        if hit.batch.kind == TaskKind.CONTAINS:
            payload = contains_answer(hit, items, behaviour, scores, rng)
        else:
            payload = classify_answer(items, behaviour, scores, rng)
        submit(hit.pk, {"token": make_token(assignment), **payload})
        stored += 1
    done = hit.assignments.exclude(status=Assignment.Status.ACCEPTED).count()
    if hit.status == Hit.Status.PUBLISHED and done >= hit.batch.assignments_per_hit:
        transition_hit(hit, Hit.Status.COMPLETE)
    return stored
