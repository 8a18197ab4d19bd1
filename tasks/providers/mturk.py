"""Amazon Mechanical Turk (sandbox, production) and the offline simulator, through tasks.mturk."""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from tasks import mturk
from tasks.models import Assignment, Batch, Bonus, Hit, Worker
from tasks.providers.base import CrowdProvider, ProviderError, SyncReport, hit_token
from tasks.transitions import AssignmentStatus, TransitionError, settle_confirmation, transition

TITLES = {
    "contains": "Select the images that contain an object",
    "classify": "Name the objects in a few images",
    "label1000": "Choose the best label for a few images",
}
DESCRIPTIONS = {
    "contains": "Look at a grid of photos and click every photo that contains the named object.",
    "classify": "For each photo, tick the labels of the distinct objects and pick the main one.",
    "label1000": "For each photo, pick the label that best describes its main object.",
}


@dataclass(frozen=True)
class PublishOptions:
    """The publishing options of a batch (Batch.options), with MTurk-friendly defaults."""

    title: str
    description: str
    keywords: str
    lifetime: int
    duration: int
    auto_approval_delay: int
    frame_height: int
    rounds_of: int | None
    qualifications: list[dict]

    @classmethod
    def from_batch(cls, batch: Batch) -> "PublishOptions":
        options = batch.options or {}
        rounds_of = options.get("rounds_of")
        return cls(
            title=options.get("title") or TITLES.get(batch.kind, "Image labeling"),
            description=options.get("description") or DESCRIPTIONS.get(batch.kind, "Label images."),
            keywords=options.get("keywords", "image, labeling, classification, photos"),
            lifetime=int(options.get("lifetime_seconds", 7 * 24 * 3600)),
            duration=int(options.get("assignment_duration_seconds", 3600)),
            auto_approval_delay=int(options.get("auto_approval_delay_seconds", 3 * 24 * 3600)),
            frame_height=int(options.get("frame_height", 0)),
            rounds_of=int(rounds_of) if rounds_of else None,
            qualifications=qualification_requirements(options, batch.provider),
        )


def qualification_requirements(options: dict, target: str = "production") -> list[dict]:
    """MTurk QualificationRequirements from the batch options (approval rate, approved HITs, locale, Masters,
    custom); `target` picks the Masters qualification of the sandbox or of production."""
    requirements = []
    if options.get("min_approval_rate", 95) is not None:
        requirements.append(_integer_requirement(mturk.QUAL_APPROVAL_RATE, options.get("min_approval_rate", 95)))
    if options.get("min_approved_hits", 500) is not None:
        requirements.append(_integer_requirement(mturk.QUAL_APPROVED_HITS, options.get("min_approved_hits", 500)))
    locales = options.get("locales", ["US"])
    if locales:
        requirements.append({
            "QualificationTypeId": mturk.QUAL_LOCALE,
            "Comparator": "In",
            "LocaleValues": [{"Country": country} for country in locales],
            "ActionsGuarded": "DiscoverPreviewAndAccept",
        })
    if options.get("masters"):
        requirements.append(_exists_requirement(mturk.QUAL_MASTERS.get(target, mturk.QUAL_MASTERS["production"])))
    custom = options.get("custom_qualification")
    if custom:
        requirements.append(_custom_requirement(custom))
    return requirements


def _exists_requirement(type_id: str) -> dict:
    return {"QualificationTypeId": type_id, "Comparator": "Exists", "ActionsGuarded": "DiscoverPreviewAndAccept"}


def _custom_requirement(custom: dict) -> dict:
    """A requirement on the researcher's own qualification; Exists / DoesNotExist take no IntegerValues."""
    comparator = custom.get("comparator", "GreaterThanOrEqualTo")
    requirement = {
        "QualificationTypeId": custom["id"], "Comparator": comparator, "ActionsGuarded": "DiscoverPreviewAndAccept",
    }
    if comparator not in mturk.VALUELESS_COMPARATORS:
        requirement["IntegerValues"] = [int(custom.get("value", 1))]
    return requirement


def _integer_requirement(type_id: str, value: int) -> dict:
    return {
        "QualificationTypeId": type_id,
        "Comparator": "GreaterThanOrEqualTo",
        "IntegerValues": [int(value)],
        "ActionsGuarded": "DiscoverPreviewAndAccept",
    }


def round_sizes(total: int, rounds_of: int | None) -> list[int]:
    """Split `total` assignments into rounds of at most `rounds_of` (one round when not splitting)."""
    if not rounds_of or total <= rounds_of:
        return [total]
    full, rest = divmod(total, rounds_of)
    return [rounds_of] * full + ([rest] if rest else [])


def hit_page_url(hit: Hit) -> str:
    return f"{settings.RELABEL_PUBLIC_BASE_URL.rstrip('/')}/hit/{hit.pk}/"


class MTurkProvider(CrowdProvider):
    """MTurk through boto3; `target` picks the endpoint: sandbox, production or simulator."""

    idempotency_window = timedelta(hours=24)  # MTurk forgets a UniqueRequestToken after 24 hours

    def __init__(self, target: str = "sandbox", client: mturk.MTurkClient | None = None) -> None:
        if target not in ("sandbox", "production", "simulator"):
            raise ProviderError(f"unknown MTurk target {target!r}: use sandbox, production or simulator")
        self.name = target
        self.target = target
        self._client = client
        self._hit_types: dict[int, str] = {}

    @property
    def client(self) -> mturk.MTurkClient:
        if self._client is None:
            self._client = mturk.make_client(self.target)
        return self._client

    def check_base_url(self) -> None:
        """MTurk only frames HTTPS pages; the simulator also takes plain HTTP for a local rehearsal."""
        base = settings.RELABEL_PUBLIC_BASE_URL
        if self.target != "simulator" and not base.startswith("https://"):
            raise ProviderError(
                f"RELABEL_PUBLIC_BASE_URL={base!r} is not HTTPS: MTurk needs an https:// URL it can reach "
                "(use --target simulator for a local rehearsal)"
            )

    def balance(self) -> Decimal:
        return mturk.get_balance(self.client)

    def hit_type_id(self, batch: Batch) -> str:
        """CreateHITType once per batch and run (MTurk returns the same id for identical properties)."""
        if batch.pk not in self._hit_types:
            options = PublishOptions.from_batch(batch)
            spec = mturk.HitTypeSpec(
                title=options.title, description=options.description, reward=batch.reward,
                keywords=options.keywords, assignment_duration=options.duration,
                auto_approval_delay=options.auto_approval_delay, qualifications=options.qualifications,
            )
            self._hit_types[batch.pk] = mturk.create_hit_type(self.client, spec)
        return self._hit_types[batch.pk]

    def round_count(self, hit: Hit) -> int:
        options = PublishOptions.from_batch(hit.batch)
        return len(round_sizes(hit.batch.assignments_per_hit, options.rounds_of))

    def _push_round(self, hit: Hit, index: int) -> str:
        self.check_base_url()
        batch = hit.batch
        options = PublishOptions.from_batch(batch)
        hit_type_id = self.hit_type_id(batch)
        Hit.objects.filter(pk=hit.pk).update(provider_hit_type_id=hit_type_id)
        token = hit_token(hit, index)
        question = mturk.external_question(hit_page_url(hit), options.frame_height)
        return mturk.create_hit(
            self.client, hit_type_id=hit_type_id, question=question, lifetime=options.lifetime,
            max_assignments=round_sizes(batch.assignments_per_hit, options.rounds_of)[index],
            token=token, annotation=token,
        )

    def _find_round(self, hit: Hit, index: int) -> str | None:
        """The round's HIT on MTurk, found by our RequesterAnnotation (the round's token)."""
        return mturk.find_hit_by_annotation(self.client, hit_token(hit, index))

    def sync(self, batch: Batch) -> SyncReport:
        report = SyncReport()
        hits = batch.hits.exclude(provider_hit_id="").select_related("batch").order_by("pk")
        for hit in hits:
            listed: set[str] = set()
            for index, provider_hit_id in enumerate(hit.provider_round_ids or [hit.provider_hit_id]):
                for remote in mturk.iter_assignments(self.client, provider_hit_id):
                    listed.add(remote["AssignmentId"])
                    self._sync_one(hit, index, remote, report)
            discard_unlisted(hit, listed)
        return report

    def _sync_one(self, hit: Hit, index: int, remote: dict, report: SyncReport) -> None:
        remote_id, remote_status = remote["AssignmentId"], remote["AssignmentStatus"]
        try:
            local = Assignment.objects.filter(provider_assignment_id=remote_id).select_related("worker").first()
            if local is None or local.status == AssignmentStatus.ACCEPTED:
                local = self.flag_missing_answer(hit, remote["WorkerId"], remote_id, index)
            self.confirm(local)
            if local.provider_round is None:
                Assignment.objects.filter(pk=local.pk).update(provider_round=index)
            self.check_worker(local, remote["WorkerId"])
            self._reconcile(local, remote_status, remote, report)
        except (TransitionError, ProviderError, mturk.MTurkError) as exc:
            report.errors.append(f"{remote_id}: {exc}")

    def _reconcile(self, local: Assignment, remote_status: str, remote: dict, report: SyncReport) -> None:
        if remote_status == "Submitted":
            self._reconcile_submitted(local, report)
            return
        wanted = AssignmentStatus.APPROVED if remote_status == "Approved" else AssignmentStatus.REJECTED
        note = f"{remote_status.lower()} on MTurk {remote.get('RequesterFeedback', '')}".strip()
        if local.status == wanted:
            report.unchanged += 1
        elif wanted == AssignmentStatus.APPROVED:  # auto-approved, or approved by the researcher on MTurk
            self.follow_platform_approval(local, note)
            report.updated_from_provider += 1
        elif local.status == AssignmentStatus.SUBMITTED:
            transition(local, wanted, note=note)
            report.updated_from_provider += 1
        else:
            report.errors.append(f"{local.provider_assignment_id}: ours is {local.status}, MTurk says {remote_status}")

    def _reconcile_submitted(self, local: Assignment, report: SyncReport) -> None:
        if local.answer_missing and local.status == AssignmentStatus.SUBMITTED:
            report.missing_answer.append(local.provider_assignment_id)
        elif local.status == AssignmentStatus.SUBMITTED:
            status = self.review(local)
            report.approved += status == AssignmentStatus.APPROVED
            report.rejected += status == AssignmentStatus.REJECTED
        elif local.status == AssignmentStatus.APPROVED:  # an earlier approve call did not get through
            self._push_approve(local, "")
            report.approved += 1
        elif local.status == AssignmentStatus.REJECTED:
            self._push_reject(local, local.transitions.last().note)
            report.rejected += 1

    def _push_approve(self, assignment: Assignment, feedback: str) -> None:
        mturk.approve_assignment(self.client, assignment.provider_assignment_id, feedback)

    def _push_reject(self, assignment: Assignment, feedback: str) -> None:
        mturk.reject_assignment(self.client, assignment.provider_assignment_id, feedback)

    def _push_override_rejection(self, assignment: Assignment, feedback: str) -> None:
        mturk.approve_assignment(self.client, assignment.provider_assignment_id, feedback, override_rejection=True)

    def _paid_on_platform(self, bonus: Bonus) -> bool:
        """ListBonusPayments for the assignment: is there a payment with this amount and reason?"""
        payments = mturk.list_bonus_payments(self.client, bonus.assignment.provider_assignment_id)
        return any(
            Decimal(payment["BonusAmount"]) == bonus.amount and payment.get("Reason") == bonus.reason
            for payment in payments
        )

    def _push_bonus(self, bonus: Bonus) -> None:
        assignment = bonus.assignment
        mturk.send_bonus(
            self.client, worker_id=assignment.worker.external_id,
            assignment_id=assignment.provider_assignment_id, amount=bonus.amount, reason=bonus.reason,
            token=bonus.token,
        )

    def _push_block(self, worker: Worker, reason: str) -> None:
        mturk.block_worker(self.client, worker.external_id, reason)

    def _push_unblock(self, worker: Worker) -> None:
        mturk.unblock_worker(self.client, worker.external_id, "unblocked by the requester")

    def _push_expire(self, hit: Hit) -> None:
        for provider_hit_id in hit.provider_round_ids or [hit.provider_hit_id]:
            mturk.expire_hit(self.client, provider_hit_id)



def discard_unlisted(hit: Hit, listed_ids: set[str]) -> None:
    """Discard our assignments of `hit` that MTurk never listed (every round); sync confirmed the listed ones.

    Submitted here but never listed once its deadline passed (by then MTurk lists every assignment a
    worker submitted to it): discarded, kept but never counted. An unlisted assignment still within its
    deadline may yet be submitted on MTurk: it waits.
    """
    Confirmation = Assignment.Confirmation
    unconfirmed = Assignment.objects.filter(hit=hit, confirmation=Confirmation.UNCONFIRMED).select_related("hit__batch")
    now = timezone.now()
    for assignment in unconfirmed.exclude(provider_assignment_id__in=listed_ids).order_by("pk"):
        if assignment.status == AssignmentStatus.SUBMITTED and assignment.deadline < now:
            settle_confirmation(assignment, Confirmation.DISCARDED, note="MTurk never listed it")
