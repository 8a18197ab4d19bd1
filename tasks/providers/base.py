"""The crowd-provider interface every platform implements, and the review rules they share.

A provider publishes HITs, pulls submitted work (sync), pays or refuses it (approve, reject, bonus),
blocks workers and expires batches. State changes go through tasks.transitions, so a provider can
be re-run, retried or raced by another process without approving, rejecting or paying twice.
"""

import hashlib
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from tasks.models import Assignment, Batch, Bonus, Hit, Worker
from tasks.transitions import HitStatus, transition, transition_hit

# A claim older than this belongs to a publisher that died: another one may take the HIT over
# (the provider's idempotency token makes the repeated create call harmless).
CLAIM_TTL = timedelta(minutes=15)
DEFAULT_REJECT_FEEDBACK = (
    "Your answers on the control images (whose answers are known) were mostly wrong, "
    "so this assignment was rejected. Please read the instructions carefully before trying again."
)


class ProviderError(Exception):
    """A provider operation failed; the message says what to fix."""


@dataclass
class SyncReport:
    """What one sync did. `missing_answer` lists provider assignment ids submitted with no stored answer."""

    approved: int = 0
    rejected: int = 0
    updated_from_provider: int = 0
    unchanged: int = 0
    missing_answer: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def merge(self, other: "SyncReport") -> None:
        self.approved += other.approved
        self.rejected += other.rejected
        self.updated_from_provider += other.updated_from_provider
        self.unchanged += other.unchanged
        self.missing_answer += other.missing_answer
        self.errors += other.errors


def bonus_token(assignment: Assignment, amount: Decimal, reason: str) -> str:
    """Deterministic token: paying the same bonus again for the same assignment is a no-op."""
    digest = hashlib.sha256(f"{assignment.pk}|{amount}|{reason}".encode()).hexdigest()
    return f"rl-bonus-{assignment.pk}-{digest[:32]}"


def hit_token(hit: Hit, round_index: int = 0) -> str:
    """Idempotency token for creating a HIT round: derived from our row, unique across database resets."""
    return f"rl-hit-{hit.pk}-{int(hit.created_at.timestamp())}-r{round_index}"


class CrowdProvider(ABC):
    """One crowd platform. Subclasses implement the `_push_*` hooks that talk to the platform."""

    name: str = ""

    # -- publish ---------------------------------------------------------------------------
    def publish(self, hit: Hit) -> bool:
        """Publish one HIT; True if this call published it, False if it was already published or claimed."""
        if not self._claim(hit):
            return False
        try:
            ids = self._push_publish(hit)
        except Exception:
            transition_hit(hit, HitStatus.DRAFT, claimed_at=None)
            raise
        primary = ids[0] if ids else ""
        return transition_hit(
            hit, HitStatus.PUBLISHED, provider_hit_id=primary, provider_round_ids=ids,
            published_at=timezone.now(),
        )

    def _claim(self, hit: Hit) -> bool:
        hit.refresh_from_db()
        now = timezone.now()
        if hit.status == HitStatus.PUBLISHING and hit.claimed_at and hit.claimed_at > now - CLAIM_TTL:
            return False
        if hit.status not in (HitStatus.DRAFT, HitStatus.PUBLISHING):
            return False
        return transition_hit(hit, HitStatus.PUBLISHING, claimed_at=now)

    @abstractmethod
    def _push_publish(self, hit: Hit) -> list[str]:
        """Create the HIT on the platform; return its provider id(s) (one per round)."""

    # -- sync ------------------------------------------------------------------------------
    @abstractmethod
    def sync(self, batch: Batch) -> SyncReport:
        """Pull submitted work, approve what passes quality control, reject what fails it."""

    def review(self, assignment: Assignment) -> str:
        """Approve or reject one submitted assignment by its quality-control flag; returns the new status."""
        if assignment.flagged:
            self.reject(assignment, DEFAULT_REJECT_FEEDBACK)
        else:
            self.approve(assignment)
        return assignment.status

    def review_submitted(self, batch: Batch) -> SyncReport:
        report = SyncReport()
        submitted = Assignment.objects.filter(hit__batch=batch, status=Assignment.Status.SUBMITTED)
        for assignment in submitted.select_related("worker").order_by("pk"):
            status = self.review(assignment)
            if status == Assignment.Status.APPROVED:
                report.approved += 1
            else:
                report.rejected += 1
        return report

    # -- review and pay --------------------------------------------------------------------
    def approve(self, assignment: Assignment, feedback: str = "") -> None:
        """Approve (and so pay) a submitted assignment exactly once."""
        transition(assignment, Assignment.Status.APPROVED, note=feedback or f"approved via {self.name}")
        self._push_approve(assignment, feedback)

    def reject(self, assignment: Assignment, feedback: str) -> None:
        """Reject a submitted assignment exactly once; `feedback` is shown to the worker."""
        if not feedback.strip():
            raise ProviderError("a rejection needs feedback that tells the worker why")
        transition(assignment, Assignment.Status.REJECTED, note=feedback)
        self._push_reject(assignment, feedback)

    def bonus(self, assignment: Assignment, amount: Decimal, reason: str) -> Bonus:
        """Pay a bonus once: the same (assignment, amount, reason) is never paid twice."""
        amount = Decimal(amount).quantize(Decimal("0.01"))
        if amount <= 0:
            raise ProviderError(f"bonus amount must be positive, got {amount}")
        if not reason.strip():
            raise ProviderError("a bonus needs a reason (it is shown to the worker)")
        if assignment.status != Assignment.Status.APPROVED:
            raise ProviderError(f"assignment {assignment.pk} is {assignment.status}: bonus approved work only")
        bonus, _ = Bonus.objects.get_or_create(
            token=bonus_token(assignment, amount, reason),
            defaults={"assignment": assignment, "amount": amount, "reason": reason},
        )
        if bonus.status == Bonus.Status.PAID:
            return bonus
        self._push_bonus(bonus)
        with transaction.atomic():
            if Bonus.objects.filter(pk=bonus.pk, status=Bonus.Status.PENDING).update(
                status=Bonus.Status.PAID, paid_at=timezone.now()
            ):
                Assignment.objects.filter(pk=assignment.pk).update(bonus_paid=F("bonus_paid") + amount)
        bonus.refresh_from_db()
        return bonus

    def block(self, worker: Worker, reason: str) -> None:
        """Stop a worker from taking more of our HITs."""
        if not reason.strip():
            raise ProviderError("blocking a worker needs a reason")
        self._push_block(worker, reason)
        Worker.objects.filter(pk=worker.pk).update(blocked=True)
        worker.blocked = True

    def unblock(self, worker: Worker) -> None:
        self._push_unblock(worker)
        Worker.objects.filter(pk=worker.pk).update(blocked=False)
        worker.blocked = False

    def expire(self, batch: Batch) -> int:
        """Stop a batch: no new work is accepted; returns how many HITs were expired."""
        hits = list(batch.hits.filter(status__in=[HitStatus.PUBLISHED, HitStatus.DRAFT]).order_by("pk"))
        expired = 0
        for hit in hits:
            if hit.status == HitStatus.PUBLISHED:
                self._push_expire(hit)
            expired += transition_hit(hit, HitStatus.EXPIRED)
        Batch.objects.filter(pk=batch.pk).exclude(status=Batch.Status.DONE).update(status=Batch.Status.EXPIRED)
        batch.refresh_from_db()
        return expired

    # -- platform hooks (no-ops where the platform has nothing to do) -------------------------
    def _push_approve(self, assignment: Assignment, feedback: str) -> None:
        return None

    def _push_reject(self, assignment: Assignment, feedback: str) -> None:
        return None

    def _push_bonus(self, bonus: Bonus) -> None:
        return None

    def _push_block(self, worker: Worker, reason: str) -> None:
        return None

    def _push_unblock(self, worker: Worker) -> None:
        return None

    def _push_expire(self, hit: Hit) -> None:
        return None
