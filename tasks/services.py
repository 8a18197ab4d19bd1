"""Publishing, syncing and paying crowd work: the operations commands, tasks and the admin call."""

import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db.models import Count, Q, QuerySet

from tasks.models import Assignment, Batch, Bonus, Hit, Provider
from tasks.mturk import MTurkError
from tasks.pricing import SAFE_ROUND_SIZE, charges_fee, fee, fee_rate
from tasks.providers import MTURK_TARGETS, CrowdProvider, ProviderError, SyncReport, get_provider
from tasks.providers.base import bonus_token
from tasks.providers.mturk import round_sizes
from tasks.transitions import TransitionError

log = logging.getLogger(__name__)
REVIEWED = (Assignment.Status.APPROVED, Assignment.Status.REJECTED)
SYNCED_STATUSES = (Batch.Status.PUBLISHING, Batch.Status.PUBLISHED, Batch.Status.EXPIRED)
CENT = Decimal("0.01")
# Providers that can take a bonus; MTurk and Prolific pay it, local and link only record it (paid off-site).
BONUS_TARGETS = (*MTURK_TARGETS, Provider.LOCAL, Provider.LINK, Provider.PROLIFIC, Provider.PROLIFIC_SIM)
DEFAULT_MISSING_FEEDBACK = (
    "We did not receive your answers for this assignment (the HIT page did not store them), so we cannot "
    "accept it. We are sorry for the trouble."
)


class PublishError(ProviderError):
    pass


class BonusError(ProviderError):
    """A bonus that must not be paid; the message says why."""


@dataclass(frozen=True)
class CostEstimate:
    hits: int
    provider_hits: int
    assignments: int
    rewards: Decimal
    fees: Decimal
    total: Decimal
    large_hits: int  # provider HITs with 10+ assignments (40% fee)

    @property
    def could_split(self) -> bool:
        return self.large_hits > 0


@dataclass(frozen=True)
class PublishReport:
    created: int
    skipped: int


@dataclass
class ReviewReport:
    """What a decision by hand did: the provider assignment ids done, and each failure."""

    done: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class SpentCost:
    approved: int
    rewards: Decimal
    bonuses: Decimal
    fees: Decimal

    @property
    def total(self) -> Decimal:
        return self.rewards + self.bonuses + self.fees


def rounds_of(batch: Batch) -> int | None:
    value = (batch.options or {}).get("rounds_of")
    return int(value) if value else None


def estimate_cost(batch: Batch, split_rounds_of: int | None = None, provider: str | None = None) -> CostEstimate:
    """What publishing the batch's unpublished HITs on `provider` (default: the batch's own) costs at most
    (every assignment approved); fees only where the platform charges them."""
    batch = Batch.objects.get(pk=batch.pk)
    charged = charges_fee(provider or batch.provider)
    hits = batch.hits.filter(status__in=[Hit.Status.DRAFT, Hit.Status.PUBLISHING]).count()
    sizes = round_sizes(batch.assignments_per_hit, split_rounds_of or rounds_of(batch))
    rewards = fees = Decimal("0.00")
    for size in sizes:
        rewards += batch.reward * size * hits
        fees += (fee(batch.reward, size) if charged else Decimal("0.00")) * size * hits
    return CostEstimate(
        hits=hits, provider_hits=hits * len(sizes), assignments=hits * sum(sizes), rewards=rewards,
        fees=fees, total=rewards + fees,
        large_hits=hits * sum(1 for size in sizes if size >= 10) if charged else 0,
    )


def set_rounds(batch: Batch, size: int) -> None:
    """Publish each HIT as rounds of at most `size` assignments (MTurk's 20% fee instead of 40% at ≤9)."""
    if size < 1:
        raise PublishError("--rounds-of must be at least 1")
    if batch.status != Batch.Status.DRAFT:
        raise PublishError(f"batch {batch.pk} is {batch.status}: rounds can only be set before publishing")
    batch.options = {**(batch.options or {}), "rounds_of": size}
    batch.save(update_fields=["options"])


def publish_batch(batch: Batch, provider: CrowdProvider) -> PublishReport:
    """Publish every unpublished HIT of the batch; re-running creates nothing twice."""
    if batch.status == Batch.Status.DRAFT:
        Batch.objects.filter(pk=batch.pk, status=Batch.Status.DRAFT).update(
            status=Batch.Status.PUBLISHING, provider=provider.name
        )
        batch.refresh_from_db()
    if batch.provider != provider.name:
        raise PublishError(f"batch {batch.pk} is published on {batch.provider!r}, not {provider.name!r}")
    if not batch.hits.exists():
        raise PublishError(f"batch {batch.pk} has no HITs: run create_hits first")
    created = 0
    pending = batch.hits.filter(status__in=[Hit.Status.DRAFT, Hit.Status.PUBLISHING])
    for hit in pending.select_related("batch").order_by("pk"):
        created += provider.publish(hit)
    if not batch.hits.filter(status__in=[Hit.Status.DRAFT, Hit.Status.PUBLISHING]).exists():
        Batch.objects.filter(pk=batch.pk, status=Batch.Status.PUBLISHING).update(status=Batch.Status.PUBLISHED)
    batch.refresh_from_db()
    return PublishReport(created=created, skipped=batch.hits.count() - created)


def sync_batch(batch: Batch, provider: CrowdProvider | None = None) -> SyncReport:
    """Pull submitted work for a batch and approve/reject it; unmatched submissions are reported."""
    provider = provider or get_provider(batch.provider)
    report = provider.sync(batch)
    _mark_complete(batch)
    if report.missing_answer:
        log.warning("batch %s: %d submitted assignments have no stored answer", batch.pk, len(report.missing_answer))
    return report


def _mark_complete(batch: Batch) -> None:
    """A HIT whose every assignment has been reviewed is complete; a batch of complete HITs is done."""
    reviewed = Count("assignments", filter=Q(assignments__status__in=REVIEWED))
    full = batch.hits.filter(status=Hit.Status.PUBLISHED).annotate(reviewed=reviewed).filter(
        reviewed__gte=batch.assignments_per_hit
    )
    Hit.objects.filter(pk__in=list(full.values_list("pk", flat=True)), status=Hit.Status.PUBLISHED).update(
        status=Hit.Status.COMPLETE
    )
    if not batch.hits.exclude(status=Hit.Status.COMPLETE).exists():
        Batch.objects.filter(pk=batch.pk, status=Batch.Status.PUBLISHED).update(status=Batch.Status.DONE)


def batches_to_sync() -> list[int]:
    return list(
        Batch.objects.filter(status__in=SYNCED_STATUSES)
        .exclude(provider__in=[Provider.LINK, Provider.IMPORT, Provider.SIMULATED])
        .order_by("pk").values_list("pk", flat=True)
    )


def spent_cost(batch: Batch) -> SpentCost:
    """What the platform has charged for the batch: approved rewards, paid bonuses and its fees on both.

    Every approved assignment counts, work with no stored answer too (the platform paid it). On MTurk
    the reward's fee follows the round the assignment came from (10+ assignments: 40 %, else 20 %),
    plus the Masters fee when the batch required Masters; a bonus's fee is 20 %.
    """
    batch = Batch.objects.get(pk=batch.pk)
    if batch.provider in (Provider.PROLIFIC, Provider.PROLIFIC_SIM):
        return _prolific_spent(batch)
    approved = Assignment.objects.filter(hit__batch=batch, status=Assignment.Status.APPROVED)
    rounds = Counter(approved.values_list("provider_round", flat=True))
    bonuses = list(Bonus.objects.filter(assignment__hit__batch=batch, status=Bonus.Status.PAID)
                   .values_list("amount", flat=True))
    n_approved = sum(rounds.values())
    fees = Decimal("0.00")
    if batch.provider in MTURK_TARGETS:
        sizes = round_sizes(batch.assignments_per_hit, rounds_of(batch))
        masters = bool((batch.options or {}).get("masters"))
        for index, count in rounds.items():
            size = sizes[index] if index is not None and index < len(sizes) else sizes[0]
            fees += fee(batch.reward, size, masters) * count
        fees += sum((fee(amount) for amount in bonuses), Decimal("0.00"))
    return SpentCost(
        approved=n_approved, rewards=batch.reward * n_approved, bonuses=sum(bonuses, Decimal("0.00")), fees=fees,
    )


def missing_answers(batch: Batch) -> QuerySet[Assignment]:
    """Work the platform says was submitted but whose answer was never stored, still awaiting a decision."""
    return Assignment.objects.filter(hit__batch=batch, answer_missing=True, status=Assignment.Status.SUBMITTED)


def review_missing(batch: Batch, approve: bool, feedback: str = "") -> ReviewReport:
    """The researcher's decision on every submission of the batch that has no stored answer.

    Approving pays the work; rejecting tells the worker `feedback` (by default, that the answers never came).
    """
    provider = get_provider(batch.provider)
    report = ReviewReport()
    for assignment in missing_answers(batch).select_related("worker").order_by("pk"):
        try:
            if approve:
                provider.approve(assignment, feedback)
            else:
                provider.reject(assignment, feedback.strip() or DEFAULT_MISSING_FEEDBACK)
        except (ProviderError, MTurkError, TransitionError) as exc:
            report.errors.append(f"{assignment.provider_assignment_id}: {exc}")
            continue
        report.done.append(assignment.provider_assignment_id)
    return report


def _prolific_spent(batch: Batch) -> SpentCost:
    from tasks.providers.prolific import ProlificProvider

    rewards, fees = ProlificProvider(batch.provider).spent(batch)
    approved = Assignment.objects.filter(hit__batch=batch, status=Assignment.Status.APPROVED).count()
    bonuses = sum(Bonus.objects.filter(assignment__hit__batch=batch, status=Bonus.Status.PAID)
                  .values_list("amount", flat=True), Decimal("0.00"))
    return SpentCost(approved=approved, rewards=rewards, bonuses=bonuses, fees=fees)


def fee_note(estimate: CostEstimate, provider: str) -> str:
    """The line that explains the platform's fee for this estimate, and how to lower it."""
    if not charges_fee(provider):
        return "No platform fee: Relabel pays nothing to a platform for this target."
    if not estimate.could_split:
        return f"MTurk fee: {fee_rate(1) * 100:.0f}% (HITs with 9 or fewer assignments)."
    return (
        f"MTurk fee: {fee_rate(10) * 100:.0f}% on {estimate.large_hits} HITs with 10 or more assignments. "
        f"Publish them in rounds of {SAFE_ROUND_SIZE} (--rounds-of {SAFE_ROUND_SIZE}) to pay 20% instead."
    )



# -- bonuses ---------------------------------------------------------------------------------------


@dataclass
class BonusReport:
    """What paying bonuses did: paid now, paid before (same assignment, amount and reason), refused."""

    paid: list[Bonus] = field(default_factory=list)
    already_paid: list[Bonus] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    in_flight: list[Bonus] = field(default_factory=list)  # claimed by another process in the last 15 minutes

    @property
    def total(self) -> Decimal:
        return sum((bonus.amount for bonus in self.paid), Decimal("0.00"))


def bonus_terms(amount: Decimal | str, reason: str) -> tuple[Decimal, str]:
    """The checked amount (dollars and cents, positive, at most RELABEL_MAX_BONUS) and the trimmed reason."""
    try:
        value = Decimal(str(amount).strip())
    except InvalidOperation as exc:
        raise BonusError(f"bonus amount {amount!r} is not a number: give dollars, e.g. 0.50") from exc
    if not value.is_finite() or value <= 0:
        raise BonusError(f"bonus amount must be a positive number of dollars, got {amount}")
    cap = settings.RELABEL_MAX_BONUS
    if value > cap:
        raise BonusError(f"bonus ${value} is above the ${cap} cap per payment (setting RELABEL_MAX_BONUS)")
    if value != value.quantize(CENT):
        raise BonusError(f"bonus amount {amount} has fractions of a cent: give dollars and cents, e.g. 0.50")
    reason = reason.strip()
    if not reason:
        raise BonusError("a bonus needs a reason: it is shown to the worker")
    return value.quantize(CENT), reason


def bonus_refusal(assignment: Assignment) -> str:
    """Why this assignment cannot get a bonus ('' when it can)."""
    batch = assignment.hit.batch
    if batch.provider not in BONUS_TARGETS:
        return f"its batch {batch.pk} is {batch.get_provider_display()}: there is no platform to pay through"
    if assignment.status != Assignment.Status.APPROVED:
        return f"it is {assignment.status}: only approved work gets a bonus"
    if assignment.worker.blocked:
        return f"worker {assignment.worker} is blocked: unblock them first to pay a bonus"
    return ""


def pay_bonuses(assignments: Iterable[Assignment], amount: Decimal | str, reason: str) -> BonusReport:
    """Pay each assignment one bonus through its batch's provider; a repeat with the same terms pays nothing.

    The Bonus token is derived from (assignment, amount, reason), so a double click, a browser retry or
    a re-run of the command finds the bonus already paid (MTurk also refuses a repeated token).
    """
    amount, reason = bonus_terms(amount, reason)
    providers: dict[str, CrowdProvider] = {}
    report = BonusReport()
    for assignment in assignments:
        assignment = Assignment.objects.select_related("hit__batch", "worker").get(pk=assignment.pk)
        refusal = bonus_refusal(assignment)
        if refusal:
            report.refused.append(f"assignment {assignment.pk}: {refusal}")
            continue
        target = assignment.hit.batch.provider
        paid_before = Bonus.objects.filter(
            token=bonus_token(assignment, amount, reason), status=Bonus.Status.PAID
        ).exists()
        try:
            if target not in providers:
                providers[target] = get_provider(target)
            bonus = providers[target].bonus(assignment, amount, reason)
        except (ProviderError, MTurkError) as exc:
            report.refused.append(f"assignment {assignment.pk}: {exc}")
            continue
        if bonus.status != Bonus.Status.PAID:
            report.in_flight.append(bonus)
        else:
            (report.already_paid if paid_before else report.paid).append(bonus)
    return report
