"""Assignments that outlive their duration: abandoned, so that their place goes to someone else.

An accepted assignment may be submitted until `Assignment.deadline` (accepted + the batch's
`assignment_duration_seconds`, as MTurk's AssignmentDurationInSeconds); after that the submit
service refuses it and `abandon_overdue` moves it to ABANDONED, run periodically by Celery beat.
"""

from datetime import datetime

from django.utils import timezone

from tasks.models import Assignment, Batch
from tasks.transitions import TransitionConflict, transition

OVERDUE_BATCH_SIZE = 500


def abandon_overdue(now: datetime | None = None) -> int:
    """Abandon every accepted assignment past its deadline; returns how many this call abandoned.

    At most OVERDUE_BATCH_SIZE per batch and run (the next run takes the rest). Safe to run concurrently
    with itself and with submissions: each move is a conditional UPDATE, and one that lost its race to a
    submission (or another run) is skipped.
    """
    now = now or timezone.now()
    abandoned = 0
    open_batches = Batch.objects.filter(hits__assignments__status=Assignment.Status.ACCEPTED).distinct()
    for batch in open_batches.order_by("pk"):
        overdue = Assignment.objects.filter(
            hit__batch=batch, status=Assignment.Status.ACCEPTED, accepted_at__lte=now - batch.assignment_duration,
        )
        for assignment in overdue.order_by("pk")[:OVERDUE_BATCH_SIZE]:
            abandoned += _abandon(assignment)
    return abandoned


def _abandon(assignment: Assignment) -> bool:
    try:
        transition(assignment, Assignment.Status.ABANDONED, note="deadline passed: the place is free again")
    except TransitionConflict:
        return False
    return True
