"""The crowd-provider interface every platform implements, and the review rules they share.

A provider publishes HITs, pulls submitted work (sync), pays or refuses it (approve, reject, bonus),
blocks workers and expires batches. State changes go through tasks.transitions, so a provider can
be re-run, retried or raced by another process without approving, rejecting or paying twice.

The money rules live here, so every platform keeps them (docs/crowd.md lists each with its test):
1. never pay twice: a bonus is claimed before it is sent, re-sent only after asking the platform what
   it paid (`_paid_on_platform`), and all of an assignment's bonuses stay under a cap;
2. never leave an untracked live task: each round's platform id is stored as soon as it exists and a
   retry creates only the missing rounds, looking them up first once past the idempotency window;
3. never pay for work we do not have without saying so: `flag_missing_answer` keeps such work visible
   and out of automatic review;
4. fees as the platform charges them (tasks.services.spent_cost, from each assignment's round);
5. the researcher's decision on the platform wins (`follow_platform_approval`, `approve_after_all`).
"""

import hashlib
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q, Sum
from django.utils import timezone

from tasks.models import Assignment, Batch, Bonus, Hit, Worker
from tasks.transitions import HitStatus, InvalidTransition, settle_confirmation, transition, transition_hit

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
    # How long the platform remembers an idempotency token (MTurk: 24 h); None when it takes none.
    idempotency_window: timedelta | None = None

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
        return transition_hit(
            hit, HitStatus.PUBLISHING, claimed_at=now, publish_started_at=hit.publish_started_at or now
        )

    def _push_publish(self, hit: Hit) -> list[str]:
        """Create the HIT's missing rounds on the platform, storing each id at once; returns every round's id.

        A retry after a partial publish creates only the rounds not stored yet. Past the platform's
        idempotency window a round whose reply was lost could be created twice, so each is looked up first.
        """
        ids = list(hit.provider_round_ids or [])
        first_try = hit.publish_started_at or hit.created_at  # HITs claimed before that field: the older time
        for index in range(len(ids), self.round_count(hit)):
            found = self._find_round(hit, index) if self._past_idempotency_window(first_try) else None
            ids.append(found or self._push_round(hit, index))
            Hit.objects.filter(pk=hit.pk).update(provider_hit_id=ids[0], provider_round_ids=ids)
            hit.provider_hit_id, hit.provider_round_ids = ids[0], list(ids)
        return ids

    def round_count(self, hit: Hit) -> int:
        """How many platform tasks (rounds) this HIT is published as."""
        return 1

    def _push_round(self, hit: Hit, index: int) -> str:
        """Create round `index` of the HIT on the platform; return its platform id."""
        raise NotImplementedError(f"{type(self).__name__} publishes no platform tasks")

    def _find_round(self, hit: Hit, index: int) -> str | None:
        """The platform id of round `index` if the platform already has it (recovery after the token window)."""
        return None

    def _past_idempotency_window(self, since) -> bool:
        window = self.idempotency_window
        return window is not None and since is not None and since < timezone.now() - window

    # -- sync ------------------------------------------------------------------------------
    @abstractmethod
    def sync(self, batch: Batch) -> SyncReport:
        """Pull submitted work, approve what passes quality control, reject what fails it."""

    def review(self, assignment: Assignment) -> str:
        """Approve or reject one submitted assignment by its quality-control flag; returns the new status.

        Work with no stored answer is never reviewed automatically: the researcher decides (review_missing).
        """
        if assignment.answer_missing:
            raise ProviderError(
                f"assignment {assignment.provider_assignment_id or assignment.pk} has no stored answer: "
                "approve or reject it yourself (manage.py review_missing, or the admin)"
            )
        if assignment.flagged:
            self.reject(assignment, DEFAULT_REJECT_FEEDBACK)
        else:
            self.approve(assignment)
        return assignment.status

    def review_submitted(self, batch: Batch) -> SyncReport:
        report = SyncReport()
        submitted = Assignment.objects.filter(hit__batch=batch, status=Assignment.Status.SUBMITTED)
        for assignment in submitted.filter(answer_missing=True).order_by("pk"):
            report.missing_answer.append(assignment.provider_assignment_id or str(assignment.pk))
        for assignment in submitted.filter(answer_missing=False).select_related("worker").order_by("pk"):
            status = self.review(assignment)
            if status == Assignment.Status.APPROVED:
                report.approved += 1
            else:
                report.rejected += 1
        return report

    # -- review and pay --------------------------------------------------------------------
    def approve(self, assignment: Assignment, feedback: str = "") -> None:
        """Approve (and so pay) a submitted assignment exactly once."""
        if assignment.status != Assignment.Status.SUBMITTED:
            raise InvalidTransition(
                f"assignment {assignment.pk} is {assignment.status}: only submitted work is approved"
            )
        transition(assignment, Assignment.Status.APPROVED, note=feedback or f"approved via {self.name}")
        self._push_approve(assignment, feedback)

    def approve_after_all(self, assignment: Assignment, feedback: str = "") -> None:
        """Approve (and pay) work we rejected, once: the researcher changed their mind."""
        if assignment.status != Assignment.Status.REJECTED:
            raise InvalidTransition(f"assignment {assignment.pk} is {assignment.status}: only rejected work is "
                                    "approved after all")
        transition(assignment, Assignment.Status.APPROVED, note=feedback or f"approved after all via {self.name}")
        self._push_override_rejection(assignment, feedback)

    def follow_platform_approval(self, assignment: Assignment, note: str) -> None:
        """The platform says approved: its decision wins over ours (a researcher approved it there)."""
        if assignment.status in (Assignment.Status.SUBMITTED, Assignment.Status.REJECTED):
            transition(assignment, Assignment.Status.APPROVED, note=note)

    def check_worker(self, assignment: Assignment, platform_worker_id: str) -> None:
        """Refuse to pay when the platform names another worker than the one the HIT page gave us."""
        if platform_worker_id != assignment.worker.external_id:
            raise ProviderError(
                f"assignment {assignment.provider_assignment_id}: the platform says worker {platform_worker_id!r} "
                f"did it, our page recorded {assignment.worker.external_id!r}; not paid, check it by hand"
            )

    def flag_missing_answer(
        self, hit: Hit, platform_worker_id: str, provider_assignment_id: str, round_index: int | None = None,
    ) -> Assignment:
        """Work the platform says was submitted but whose answer we never stored: keep it, visibly.

        The assignment is recorded (created if our page never saw it) as submitted with `answer_missing`,
        so it is never approved automatically, shows in sync output and the dashboard, and, once the
        platform pays it (auto-approval), counts in what the batch cost.
        """
        worker, _ = Worker.objects.get_or_create(provider=hit.batch.provider, external_id=platform_worker_id)
        try:
            with transaction.atomic():
                assignment, _ = Assignment.objects.get_or_create(
                    provider_assignment_id=provider_assignment_id,
                    defaults={"hit": hit, "worker": worker, "confirmation": Assignment.Confirmation.CONFIRMED,
                              "provider_round": round_index},
                )
        except IntegrityError as exc:
            raise ProviderError(f"assignment {provider_assignment_id}: worker {platform_worker_id} already has "
                                f"another assignment on HIT {hit.pk}; check it by hand") from exc
        Assignment.objects.filter(pk=assignment.pk).update(answer_missing=True)
        assignment.answer_missing = True
        if assignment.status == Assignment.Status.ACCEPTED:
            transition(assignment, Assignment.Status.SUBMITTED, note=f"submitted on {self.name}, no answer stored")
        return assignment

    def confirm(self, assignment: Assignment) -> None:
        """The platform listed this assignment: its answers may count (tasks.quality.counted)."""
        settle_confirmation(assignment, Assignment.Confirmation.CONFIRMED, note=f"listed by {self.name}")

    def reject(self, assignment: Assignment, feedback: str) -> None:
        """Reject a submitted assignment exactly once; `feedback` is shown to the worker."""
        if not feedback.strip():
            raise ProviderError("a rejection needs feedback that tells the worker why")
        transition(assignment, Assignment.Status.REJECTED, note=feedback)
        self._push_reject(assignment, feedback)

    def bonus(self, assignment: Assignment, amount: Decimal, reason: str) -> Bonus:
        """Pay a bonus once: the same (assignment, amount, reason) is never paid twice.

        The Bonus row is stored and claimed before the platform is called. A re-send (an earlier try
        crashed, timed out or was refused) first asks the platform what it paid, because its idempotency
        token may have expired; a refused send is settled the same way.
        """
        amount = Decimal(amount).quantize(Decimal("0.01"))
        if amount <= 0:
            raise ProviderError(f"bonus amount must be positive, got {amount}")
        if not reason.strip():
            raise ProviderError("a bonus needs a reason (it is shown to the worker)")
        if assignment.status != Assignment.Status.APPROVED:
            raise ProviderError(f"assignment {assignment.pk} is {assignment.status}: bonus approved work only")
        bonus = self._bonus_row(assignment, amount, reason)
        if bonus.status == Bonus.Status.PAID:
            return bonus
        if bonus.status == Bonus.Status.PAYING:
            raise ProviderError(
                f"bonus {bonus.pk}: its payment was sent once and the platform's answer was lost, so it is never "
                "sent again; check the bonuses on the platform, then settle it in the Bonus admin"
            )
        tried_before = bonus.attempted_at is not None
        if not self._claim_bonus(bonus):
            return bonus  # another process is sending it now
        if not (tried_before and self._paid_on_platform(bonus)):
            self._send_bonus(bonus)
        return self._settle_bonus(bonus)

    def _bonus_row(self, assignment: Assignment, amount: Decimal, reason: str) -> Bonus:
        """The Bonus for these terms, created under the assignment's lock within the per-assignment cap."""
        token = bonus_token(assignment, amount, reason)
        with transaction.atomic():
            Assignment.objects.select_for_update().filter(pk=assignment.pk).first()
            existing = Bonus.objects.filter(token=token).first()
            if existing is not None:
                return existing
            promised = Bonus.objects.filter(assignment=assignment).aggregate(total=Sum("amount"))["total"] or 0
            cap = settings.RELABEL_MAX_BONUS_PER_ASSIGNMENT
            if promised + amount > cap:
                raise ProviderError(
                    f"assignment {assignment.pk} already has ${promised} in bonuses: ${amount} more would pass the "
                    f"${cap} cap per assignment (setting RELABEL_MAX_BONUS_PER_ASSIGNMENT)"
                )
            return Bonus.objects.create(token=token, assignment=assignment, amount=amount, reason=reason)

    def _claim_bonus(self, bonus: Bonus) -> bool:
        """Conditional UPDATE: only one process at a time sends a pending bonus (a stale claim expires)."""
        now = timezone.now()
        free = Q(attempted_at__isnull=True) | Q(attempted_at__lt=now - CLAIM_TTL)
        claimed = Bonus.objects.filter(free, pk=bonus.pk, status=Bonus.Status.PENDING).update(attempted_at=now)
        return claimed == 1

    def _send_bonus(self, bonus: Bonus) -> None:
        try:
            self._push_bonus(bonus)
        except Exception:
            if not self._paid_on_platform(bonus):  # refused because it was paid before (a token seen)?
                self._release_bonus(bonus)
                raise

    def _release_bonus(self, bonus: Bonus) -> None:
        """Free the claim at once (a retry need not wait), keeping the mark that it was tried: a retry asks first."""
        Bonus.objects.filter(pk=bonus.pk, status=Bonus.Status.PENDING).update(attempted_at=timezone.now() - CLAIM_TTL)

    def _settle_bonus(self, bonus: Bonus) -> Bonus:
        with transaction.atomic():
            if Bonus.objects.filter(pk=bonus.pk, status=Bonus.Status.PENDING).update(
                status=Bonus.Status.PAID, paid_at=timezone.now()
            ):
                Assignment.objects.filter(pk=bonus.assignment_id).update(bonus_paid=F("bonus_paid") + bonus.amount)
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

    def _paid_on_platform(self, bonus: Bonus) -> bool:
        """Whether the platform already paid this bonus (same assignment, amount and reason)."""
        return False

    def _push_override_rejection(self, assignment: Assignment, feedback: str) -> None:
        return None

    def _push_block(self, worker: Worker, reason: str) -> None:
        return None

    def _push_unblock(self, worker: Worker) -> None:
        return None

    def _push_expire(self, hit: Hit) -> None:
        return None
