"""Quality control for CONTAINS: gold accuracy per assignment, flagging, per-worker statistics."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Avg, Count, Q

from annotation.models import ContainsJudgment
from tasks.models import Assignment, HitItem, Worker

COUNTED_STATUSES = (Assignment.Status.SUBMITTED, Assignment.Status.APPROVED)


def counted(prefix: str = "") -> Q:
    """The assignments whose answers count: submitted or approved, confirmed by the platform, not flagged.

    `prefix` reaches the assignment from another model, e.g. ``counted("assignment__")`` on judgments.
    """
    return Q(**{
        f"{prefix}status__in": COUNTED_STATUSES,
        f"{prefix}confirmation": Assignment.Confirmation.CONFIRMED,
        f"{prefix}flagged": False,
    })


def gold_accuracy(roles: Mapping[int, str], selected: Iterable[int]) -> float | None:
    """Share of gold tiles answered right: positives selected, negatives left alone. None without gold."""
    chosen = set(selected)
    gold = [(image, role) for image, role in roles.items() if role != HitItem.Role.CANDIDATE]
    if not gold:
        return None
    right = sum((image in chosen) == (role == HitItem.Role.GOLD_POSITIVE) for image, role in gold)
    return right / len(gold)


def is_flagged(accuracy: float | None) -> bool:
    """Below settings.RELABEL_GOLD_MIN_ACCURACY: flagged for rejection and left out of aggregates."""
    return accuracy is not None and accuracy < settings.RELABEL_GOLD_MIN_ACCURACY


def score_assignment(assignment: Assignment, roles: Mapping[int, str], selected: Iterable[int]) -> None:
    """Record the assignment's gold accuracy and flag it when it falls below the threshold.

    `roles` is image id → HitItem role for every tile of the assignment's HIT (the caller has read them).
    """
    accuracy = gold_accuracy(roles, selected)
    assignment.gold_accuracy = accuracy
    assignment.flagged = is_flagged(accuracy)
    Assignment.objects.filter(pk=assignment.pk).update(gold_accuracy=accuracy, flagged=assignment.flagged)


@dataclass(frozen=True)
class WorkerStats:
    assignments: int
    flagged: int
    gold_accuracy: float | None
    majority_agreement: float | None


def worker_stats(worker: Worker) -> WorkerStats:
    """Submitted work of one worker: counts, mean gold accuracy and agreement with the other workers."""
    totals = worker.assignments.filter(status__in=COUNTED_STATUSES).aggregate(
        n=Count("id"), flagged=Count("id", filter=Q(flagged=True)), gold=Avg("gold_accuracy"),
    )
    return WorkerStats(totals["n"], totals["flagged"], totals["gold"], majority_agreement(worker))


def majority_agreement(worker: Worker) -> float | None:
    """Share of the worker's CONTAINS answers that match the majority of the other accepted workers.

    Pairs where the others are split evenly, or that nobody else judged, are left out.
    """
    mine = dict(
        ((image, label), selected)
        for image, label, selected in ContainsJudgment.objects.filter(
            assignment__worker=worker, assignment__status__in=COUNTED_STATUSES
        ).values_list("image_id", "label_id", "selected")
    )
    if not mine:
        return None
    others = (
        ContainsJudgment.objects.filter(counted("assignment__"), image_id__in={image for image, _ in mine})
        .exclude(assignment__worker=worker)
        .values("image_id", "label_id")
        .annotate(shown=Count("id"), chosen=Count("id", filter=Q(selected=True)))
    )
    agree = total = 0
    for row in others:
        key = (row["image_id"], row["label_id"])
        if key not in mine or row["chosen"] * 2 == row["shown"]:
            continue
        total += 1
        agree += mine[key] == (row["chosen"] * 2 > row["shown"])
    return agree / total if total else None
