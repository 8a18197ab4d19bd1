"""Assignment and HIT states and the moves allowed between them.

Every status change goes through `transition()` / `transition_hit()`: a conditional
`UPDATE ... WHERE status=<old>` so two processes can never both make the same move (approving or
rejecting twice is impossible), a history row, and a signal for listeners.
"""

from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone

from tasks.models import Assignment, AssignmentTransition, Hit

AssignmentStatus = Assignment.Status
HitStatus = Hit.Status

ALLOWED: dict[str, frozenset[str]] = {
    AssignmentStatus.ACCEPTED: frozenset({AssignmentStatus.SUBMITTED, AssignmentStatus.ABANDONED}),
    AssignmentStatus.SUBMITTED: frozenset({AssignmentStatus.APPROVED, AssignmentStatus.REJECTED}),
    AssignmentStatus.APPROVED: frozenset(),
    # A rejection can be overridden (the researcher approves after all, here or on the platform).
    AssignmentStatus.REJECTED: frozenset({AssignmentStatus.APPROVED}),
    AssignmentStatus.ABANDONED: frozenset(),
}

HIT_ALLOWED: dict[str, frozenset[str]] = {
    HitStatus.DRAFT: frozenset({HitStatus.PUBLISHING, HitStatus.PUBLISHED, HitStatus.EXPIRED}),
    HitStatus.PUBLISHING: frozenset({HitStatus.PUBLISHED, HitStatus.DRAFT, HitStatus.PUBLISHING}),
    HitStatus.PUBLISHED: frozenset({HitStatus.COMPLETE, HitStatus.EXPIRED}),
    HitStatus.COMPLETE: frozenset({HitStatus.EXPIRED}),
    HitStatus.EXPIRED: frozenset(),
}

# Sent after an assignment changed status (inside the transaction that changed it).
# Receivers must not call the network: they get sender=Assignment, assignment, from_status, to_status, note.
assignment_status_changed = Signal()


class TransitionError(Exception):
    """A status move that is not allowed, or that another process made first."""


class InvalidTransition(TransitionError):
    pass


class TransitionConflict(TransitionError):
    pass


def can_transition(from_status: str, to_status: str) -> bool:
    return to_status in ALLOWED.get(from_status, frozenset())


def transition(assignment: Assignment, to_status: str, note: str = "") -> Assignment:
    """Move `assignment` from its current status to `to_status`, or raise TransitionError.

    The in-memory status is the expected old status: if the row changed meanwhile the UPDATE
    matches nothing and TransitionConflict is raised, so each move happens exactly once.
    """
    from_status = assignment.status
    if not can_transition(from_status, to_status):
        raise InvalidTransition(
            f"assignment {assignment.pk} cannot go from {from_status!r} to {to_status!r}"
        )
    now = timezone.now()
    changes: dict = {"status": to_status}
    if to_status == AssignmentStatus.SUBMITTED:
        changes["submitted_at"] = now
    if to_status in (AssignmentStatus.APPROVED, AssignmentStatus.REJECTED):
        changes["reviewed_at"] = now
    with transaction.atomic():
        updated = Assignment.objects.filter(pk=assignment.pk, status=from_status).update(**changes)
        if updated != 1:
            raise TransitionConflict(
                f"assignment {assignment.pk} is no longer {from_status!r}: another process changed it"
            )
        AssignmentTransition.objects.create(
            assignment=assignment, from_status=from_status, to_status=to_status, note=note
        )
        for field, value in changes.items():
            setattr(assignment, field, value)
        assignment_status_changed.send(
            sender=Assignment, assignment=assignment, from_status=from_status, to_status=to_status, note=note
        )
    return assignment


def transition_hit(hit: Hit, to_status: str, **fields) -> bool:
    """Move `hit` to `to_status` if it is still in its in-memory status; True if this call did it.

    Returns False (no exception) when another process got there first: callers use this as the
    claim in claim-before-acting.
    """
    from_status = hit.status
    if to_status not in HIT_ALLOWED.get(from_status, frozenset()):
        raise InvalidTransition(f"HIT {hit.pk} cannot go from {from_status!r} to {to_status!r}")
    query = Hit.objects.filter(pk=hit.pk, status=from_status)
    if from_status == HitStatus.PUBLISHING:
        query = query.filter(claimed_at=hit.claimed_at)
    updated = query.update(status=to_status, **fields)
    if updated != 1:
        return False
    hit.status = to_status
    for field, value in fields.items():
        setattr(hit, field, value)
    return True


def settle_confirmation(assignment: Assignment, to: str, note: str = "") -> bool:
    """Record the platform's word on an unconfirmed assignment (confirmed, or discarded); True if this call did it.

    Only an UNCONFIRMED assignment moves, once: a repeat or a racing sync changes nothing.
    """
    Confirmation = Assignment.Confirmation
    if to not in (Confirmation.CONFIRMED, Confirmation.DISCARDED):
        raise InvalidTransition(f"assignment {assignment.pk}: cannot settle its confirmation as {to!r}")
    now = timezone.now()
    with transaction.atomic():
        updated = Assignment.objects.filter(pk=assignment.pk, confirmation=Confirmation.UNCONFIRMED).update(
            confirmation=to, confirmed_at=now
        )
        if updated:
            AssignmentTransition.objects.create(
                assignment=assignment, from_status=assignment.status, to_status=assignment.status,
                note=note or f"platform: {to}",
            )
    if updated:
        assignment.confirmation, assignment.confirmed_at = to, now
    return bool(updated)
