"""Prolific (and its offline simulator) behind the CrowdProvider interface, through tasks.prolific.

A batch is ONE Prolific study: Prolific pays per participant session, and a session takes
`hits_per_session` HITs one after another (tasks.prolific_flow). Publishing a HIT makes sure the
batch's study exists and is published; the ProlificStudy row is the claim, made before the study is
created, and its internal name finds a study created by a publisher that died before storing it.
Approving or rejecting an assignment moves the session's Prolific submission once all its HITs are
reviewed. A bonus is set up, its payment id stored, then claimed (PENDING → PAYING, a conditional
UPDATE) before the one pay call: Prolific pays again on every call, so a claimed payment is never sent
again, whatever crashes or retries.
"""

import math
import secrets
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from tasks import prolific
from tasks.models import Assignment, Batch, Bonus, Hit, ProlificSession, ProlificStudy, Provider, Worker
from tasks.prolific_flow import PROLIFIC_TARGETS, free_session, session_assignments
from tasks.providers.base import CLAIM_TTL, DEFAULT_REJECT_FEEDBACK, CrowdProvider, ProviderError, SyncReport
from tasks.transitions import AssignmentStatus, TransitionError, settle_confirmation, transition

TARGET_MINUTES_PER_SESSION = 10
DEFAULT_DEVICES = ["desktop"]
REJECTION_CATEGORY = "FAILED_CHECK"
MEASURED_MINIMUM = 20
MEASURED_SAMPLE = 1000
CENT = Decimal("0.01")
TITLES = {
    "contains": "Find a named object in grids of photos",
    "classify": "Name the objects in photos",
    "label1000": "Choose the best label for photos",
}
DESCRIPTIONS = {
    "contains": "You will see grids of photos and click every photo that contains the named object.",
    "classify": "For each photo, tick the labels of the distinct objects and pick the main one.",
    "label1000": "For each photo, pick the label that best describes its main object.",
}


@dataclass(frozen=True)
class StudyPlan:
    """What the batch's study asks for and costs (Batch.options, see docs/crowd.md)."""

    hits_per_session: int
    places: int
    reward_per_place: Decimal
    minutes: int
    maximum_minutes: int
    fee_rate: Decimal

    @property
    def rewards(self) -> Decimal:
        return self.reward_per_place * self.places

    @property
    def fees(self) -> Decimal:
        return (self.rewards * self.fee_rate).quantize(CENT, ROUND_HALF_UP)

    @property
    def total(self) -> Decimal:
        return self.rewards + self.fees


def measured_seconds_per_hit(kind: str) -> int | None:
    """The median time workers took on submitted HITs of this kind, once there are enough to trust."""
    spans = sorted(
        (submitted - accepted).total_seconds()
        for accepted, submitted in Assignment.objects.filter(
            hit__batch__kind=kind, submitted_at__isnull=False,
            status__in=(AssignmentStatus.SUBMITTED, AssignmentStatus.APPROVED),
        ).values_list("accepted_at", "submitted_at")[:MEASURED_SAMPLE]
    )
    if len(spans) < MEASURED_MINIMUM:
        return None
    return max(1, math.ceil(spans[len(spans) // 2]))


def plan(batch: Batch) -> StudyPlan:
    """Places, reward and time of the batch's study from its HITs and options.

    Seconds per HIT: the batch's `seconds_per_hit`, else the median measured on earlier work of the same
    kind, else PROLIFIC_SECONDS_PER_HIT.
    """
    options = batch.options or {}
    hits = batch.hits.count()
    seconds = int(options.get("seconds_per_hit") or measured_seconds_per_hit(batch.kind)
                  or settings.PROLIFIC_SECONDS_PER_HIT)
    default_size = max(1, TARGET_MINUTES_PER_SESSION * 60 // max(seconds, 1))
    size = int(options.get("hits_per_session") or min(default_size, max(hits, 1)))
    if size < 1:
        raise ProviderError(f"hits_per_session must be at least 1, got {size}")
    minutes = max(1, math.ceil(size * seconds / 60))
    return StudyPlan(
        hits_per_session=size, places=max(1, math.ceil(hits * batch.assignments_per_hit / size)),
        reward_per_place=(Decimal(batch.reward) * size).quantize(CENT), minutes=minutes,
        maximum_minutes=int(options.get("maximum_allowed_minutes") or max(3 * minutes, minutes + 10)),
        fee_rate=settings.PROLIFIC_SERVICE_FEE_RATE,
    )


def internal_name(batch: Batch) -> str:
    """Ours, unique across database resets: finds the study again after a crash."""
    return f"relabel-batch-{batch.pk}-{int(batch.created_at.timestamp())}"


def landing_url(batch: Batch) -> str:
    base = settings.RELABEL_PUBLIC_BASE_URL.rstrip("/")
    return (f"{base}/prolific/{batch.pk}/start/?PROLIFIC_PID={{{{%PROLIFIC_PID%}}}}"
            f"&STUDY_ID={{{{%STUDY_ID%}}}}&SESSION_ID={{{{%SESSION_ID%}}}}")


def study_body(batch: Batch, study: ProlificStudy, study_plan: StudyPlan) -> dict:
    """The create-study request: a draft with our landing URL, one completion code, places, reward, filters."""
    options = batch.options or {}
    filters = list(options.get("prolific_filters") or [])
    if settings.PROLIFIC_BLOCKLIST_GROUP_ID:
        filters.append({"filter_id": "participant_group_blocklist",
                        "selected_values": [settings.PROLIFIC_BLOCKLIST_GROUP_ID]})
    return {
        "name": options.get("title") or TITLES.get(batch.kind, "Label photos"),
        "internal_name": study.internal_name,
        "description": options.get("description") or DESCRIPTIONS.get(batch.kind, "Label photos."),
        "external_study_url": landing_url(batch),
        "prolific_id_option": "url_parameters",
        "completion_codes": [{"code": study.completion_code, "code_type": "COMPLETED",
                              "actions": [{"action": "MANUALLY_REVIEW"}]}],
        "total_available_places": study_plan.places,
        "estimated_completion_time": study_plan.minutes,
        "maximum_allowed_time": study_plan.maximum_minutes,
        "reward": prolific.cents(study_plan.reward_per_place),
        "device_compatibility": list(options.get("prolific_devices") or DEFAULT_DEVICES),
        "filters": filters,
    }


def set_hits_per_session(batch: Batch, size: int) -> None:
    """Prolific sessions of `size` HITs; only before the study exists."""
    if size < 1:
        raise ProviderError("--hits-per-session must be at least 1")
    if ProlificStudy.objects.filter(batch=batch).exists() or batch.status != Batch.Status.DRAFT:
        raise ProviderError(f"batch {batch.pk} is already published: its sessions' size cannot change")
    batch.options = {**(batch.options or {}), "hits_per_session": size}
    batch.save(update_fields=["options"])


def draft_study_body(batch: Batch) -> dict:
    """The study publishing would create (for --dry-run); the completion code is made at publish time."""
    draft = ProlificStudy(batch=batch, internal_name=internal_name(batch), completion_code="<made at publish>")
    return study_body(batch, draft, plan(batch))


def rejection_message(feedback: str) -> str:
    """Prolific wants at least 100 characters: short feedback is followed by our standard explanation."""
    feedback = feedback.strip()
    if len(feedback) >= prolific.REJECTION_MIN_LENGTH:
        return feedback
    return f"{feedback} {DEFAULT_REJECT_FEEDBACK}".strip()


def resolve_in_doubt(bonus: Bonus, paid: bool) -> int:
    """A person looked on Prolific at a bonus left `paying` (its pay call's reply was lost): record what they saw.

    Paid: PAYING → PAID (and the assignment's bonus total). Not paid: PAYING → PENDING with its send claim
    released, so the next run pays it. Returns 1 if this call changed the bonus, 0 if it was not in doubt (any more).
    """
    now = timezone.now()
    with transaction.atomic():
        if paid:
            changes = {"status": Bonus.Status.PAID, "paid_at": now}
        else:
            changes = {"status": Bonus.Status.PENDING, "attempted_at": now - CLAIM_TTL}
        changed = Bonus.objects.filter(pk=bonus.pk, status=Bonus.Status.PAYING).update(**changes)
        if changed and paid:
            Assignment.objects.filter(pk=bonus.assignment_id).update(bonus_paid=F("bonus_paid") + bonus.amount)
    return changed


class ProlificProvider(CrowdProvider):
    """Prolific's API (target "prolific") or the offline simulator ("prolific-sim")."""

    def __init__(self, target: str = Provider.PROLIFIC, client: prolific.Client | None = None) -> None:
        if target not in PROLIFIC_TARGETS:
            raise ProviderError(f"unknown Prolific target {target!r}: use prolific or prolific-sim")
        self.name = self.target = target
        self._client = client

    @property
    def client(self) -> prolific.Client:
        if self._client is None:
            self._client = prolific.client_for(self.target)
        return self._client

    def check_base_url(self) -> None:
        base = settings.RELABEL_PUBLIC_BASE_URL
        if self.target == Provider.PROLIFIC and not base.startswith("https://"):
            raise ProviderError(f"RELABEL_PUBLIC_BASE_URL={base!r} is not HTTPS: Prolific participants need an "
                                "https:// address they can reach (use --target prolific-sim for a rehearsal)")

    def balance(self) -> Decimal | None:
        """The workspace's available balance, or None when PROLIFIC_WORKSPACE_ID is not set."""
        if not settings.PROLIFIC_WORKSPACE_ID:
            return None
        return prolific.workspace_balance(self.client, settings.PROLIFIC_WORKSPACE_ID)

    # -- publish -------------------------------------------------------------------------------------
    def _push_publish(self, hit: Hit) -> list[str]:
        self.check_base_url()
        study = self.ensure_study(hit.batch)
        return [study.study_id]

    def ensure_study(self, batch: Batch) -> ProlificStudy:
        """The batch's study, created once (claimed first, found again after a crash) and published."""
        study = self._claim_study(batch)
        if not study.study_id:
            remote = self._find_or_create(batch, study)
            ProlificStudy.objects.filter(pk=study.pk, study_id="").update(
                study_id=remote["id"], status=ProlificStudy.Status.DRAFT)
            study.refresh_from_db()
        if study.status == ProlificStudy.Status.DRAFT:
            self._publish_study(study)
        return study

    def _claim_study(self, batch: Batch) -> ProlificStudy:
        now = timezone.now()
        study, created = ProlificStudy.objects.get_or_create(batch=batch, defaults={
            "internal_name": internal_name(batch), "claimed_at": now,
            "hits_per_session": plan(batch).hits_per_session,
            "completion_code": secrets.token_hex(4).upper(),
        })
        if created or study.study_id:
            return study
        reclaimed = study.claimed_at <= now - CLAIM_TTL and ProlificStudy.objects.filter(
            pk=study.pk, study_id="", claimed_at=study.claimed_at).update(claimed_at=now)
        if not reclaimed:
            raise ProviderError(
                f"another publisher started creating batch {batch.pk}'s study at {study.claimed_at:%H:%M:%S} UTC "
                f"and has not stored it yet: run the command again after {CLAIM_TTL.seconds // 60} minutes")
        study.claimed_at = now
        return study

    def _find_or_create(self, batch: Batch, study: ProlificStudy) -> dict:
        found = prolific.find_study(self.client, study.internal_name)
        if found is not None:
            return found
        try:
            return prolific.create_study(self.client, study_body(batch, study, plan(batch)))
        except prolific.ProlificError as exc:
            found = prolific.find_study(self.client, study.internal_name) if exc.sent else None
            if found is None:
                raise
            return found

    def _publish_study(self, study: ProlificStudy) -> None:
        remote = prolific.get_study(self.client, study.study_id)
        if remote.get("status") == "UNPUBLISHED":
            try:
                remote = prolific.transition_study(self.client, study.study_id, "PUBLISH")
            except prolific.ProlificError:
                remote = prolific.get_study(self.client, study.study_id)
                if remote.get("status") == "UNPUBLISHED":
                    raise
        ProlificStudy.objects.filter(pk=study.pk, status=ProlificStudy.Status.DRAFT).update(
            status=ProlificStudy.Status.ACTIVE)
        study.status = ProlificStudy.Status.ACTIVE

    # -- sync ----------------------------------------------------------------------------------------
    def sync(self, batch: Batch) -> SyncReport:
        """Mirror every submission of the study onto its session's assignments; review completed ones."""
        report = SyncReport()
        study = ProlificStudy.objects.filter(batch=batch).exclude(study_id="").first()
        if study is None:
            return report
        remote = {item["id"]: item for item in prolific.iter_submissions(self.client, study.study_id)}
        sessions = {s.session_id: s for s in ProlificSession.objects.filter(batch=batch).select_related("worker")}
        for session_id, submission in remote.items():
            try:
                self._sync_submission(sessions.get(session_id), submission, report)
            except (TransitionError, ProviderError) as exc:
                report.errors.append(f"{session_id}: {exc}")
        for session_id, session in sessions.items():
            if session_id not in remote:
                for assignment in session_assignments(session):
                    settle_confirmation(assignment, Assignment.Confirmation.DISCARDED,
                                        "Prolific has no such submission")
        return report

    def _sync_submission(self, session: ProlificSession | None, submission: dict, report: SyncReport) -> None:
        status = submission["status"]
        if status == "ACTIVE":
            report.unchanged += 1
        elif status in ("RETURNED", "TIMED-OUT"):
            report.updated_from_provider += bool(session and free_session(session, status.lower()))
        elif session is None:
            if status == "AWAITING REVIEW":
                report.missing_answer.append(submission["id"])
            else:
                report.unchanged += 1
        elif status == "AWAITING REVIEW" and not self._answers_stored(session):
            # Shown on the dashboard; the researcher decides on Prolific's site and the next sync follows.
            session_assignments(session).filter(status=AssignmentStatus.ACCEPTED).update(answer_missing=True)
            report.missing_answer.append(submission["id"])
        else:
            if status != "AWAITING REVIEW":  # reviewed on Prolific: HITs left unanswered go back to others
                self._abandon_unfinished(session, status)
            for assignment in session_assignments(session):
                settle_confirmation(assignment, Assignment.Confirmation.CONFIRMED, f"Prolific: {status}")
            if status == "AWAITING REVIEW":
                self._review_session(session, report)
            else:
                self._mirror(session, AssignmentStatus.APPROVED if status == "APPROVED" else AssignmentStatus.REJECTED,
                             report)

    @staticmethod
    def _abandon_unfinished(session: ProlificSession, status: str) -> None:
        for assignment in session_assignments(session).filter(status=AssignmentStatus.ACCEPTED):
            transition(assignment, AssignmentStatus.ABANDONED, note=f"Prolific: {status} with this HIT unanswered")

    @staticmethod
    def _answers_stored(session: ProlificSession) -> bool:
        statuses = set(session_assignments(session).values_list("status", flat=True))
        return bool(statuses) and AssignmentStatus.ACCEPTED not in statuses

    def _review_session(self, session: ProlificSession, report: SyncReport) -> None:
        assignments = list(session_assignments(session).exclude(status=AssignmentStatus.ABANDONED).order_by("pk"))
        submitted = [a for a in assignments if a.status == AssignmentStatus.SUBMITTED]
        if submitted:
            failed = sum(a.flagged for a in assignments) * 2 > len(assignments)
            wanted = AssignmentStatus.REJECTED if failed else AssignmentStatus.APPROVED
            note = DEFAULT_REJECT_FEEDBACK if failed else f"approved via {self.name}"
            for assignment in submitted:
                transition(assignment, wanted, note=note)
        self._push_session(session, DEFAULT_REJECT_FEEDBACK)
        statuses = {a.status for a in session_assignments(session)}
        report.approved += AssignmentStatus.APPROVED in statuses
        report.rejected += AssignmentStatus.APPROVED not in statuses

    def _mirror(self, session: ProlificSession, wanted: str, report: SyncReport) -> None:
        for assignment in session_assignments(session).order_by("pk"):
            if assignment.status == AssignmentStatus.SUBMITTED:
                transition(assignment, wanted, note=f"{wanted} on Prolific")
                report.updated_from_provider += 1
            elif assignment.status in (wanted, AssignmentStatus.ABANDONED):
                report.unchanged += 1
            else:
                report.errors.append(f"{assignment.provider_assignment_id}: ours is {assignment.status}, "
                                     f"Prolific says {wanted}")

    # -- review, pay ---------------------------------------------------------------------------------
    def _push_approve(self, assignment: Assignment, feedback: str) -> None:
        self._push_session(self._session_of(assignment), DEFAULT_REJECT_FEEDBACK)

    def _push_reject(self, assignment: Assignment, feedback: str) -> None:
        self._push_session(self._session_of(assignment), feedback)

    @staticmethod
    def _session_of(assignment: Assignment) -> ProlificSession:
        session_id = assignment.provider_assignment_id.rsplit("-", 1)[0]
        session = ProlificSession.objects.filter(session_id=session_id).first()
        if not assignment.provider_assignment_id or session is None:
            raise ProviderError(f"assignment {assignment.pk} has no Prolific session: review it on Prolific by hand")
        return session

    def _push_session(self, session: ProlificSession, feedback: str) -> None:
        """Once every HIT of the session is reviewed: approve its submission, or reject it if none passed."""
        statuses = set(session_assignments(session).values_list("status", flat=True))
        if statuses & {AssignmentStatus.ACCEPTED, AssignmentStatus.SUBMITTED}:
            return
        approve = AssignmentStatus.APPROVED in statuses
        remote = prolific.get_submission(self.client, session.session_id)
        if remote["status"] == ("APPROVED" if approve else "REJECTED"):
            return
        if remote["status"] != "AWAITING REVIEW":
            raise ProviderError(f"Prolific submission {session.session_id} is {remote['status']}: it cannot be "
                                f"{'approved' if approve else 'rejected'} now; sync later")
        if approve:
            prolific.approve_submission(self.client, session.session_id)
        else:
            prolific.reject_submission(self.client, session.session_id, rejection_message(feedback),
                                       REJECTION_CATEGORY)

    def _push_bonus(self, bonus: Bonus) -> None:
        payment_id = bonus.provider_payment_id or self._set_up_bonus(bonus)
        claimed = Bonus.objects.filter(pk=bonus.pk, status=Bonus.Status.PENDING,
                                       provider_payment_id=payment_id).update(status=Bonus.Status.PAYING)
        if not claimed:
            bonus.refresh_from_db()
            if bonus.status == Bonus.Status.PAID:
                return
            raise ProviderError(
                f"bonus {bonus.pk}: Prolific payment {payment_id} was already sent once (state {bonus.status}) and "
                "is never sent again; check the study's bonuses on Prolific, then settle it in the Bonus admin")
        try:
            prolific.pay_bonus(self.client, payment_id)
        except prolific.ProlificError as exc:
            if exc.status is not None and exc.status < 500:  # refused by Prolific: nothing was paid
                Bonus.objects.filter(pk=bonus.pk, status=Bonus.Status.PAYING).update(status=Bonus.Status.PENDING)
            raise
        with transaction.atomic():
            if Bonus.objects.filter(pk=bonus.pk, status=Bonus.Status.PAYING).update(
                    status=Bonus.Status.PAID, paid_at=timezone.now()):
                Assignment.objects.filter(pk=bonus.assignment_id).update(bonus_paid=F("bonus_paid") + bonus.amount)

    def _set_up_bonus(self, bonus: Bonus) -> str:
        assignment = bonus.assignment
        study = ProlificStudy.objects.filter(batch_id=assignment.hit.batch_id).exclude(study_id="").first()
        if study is None:
            raise ProviderError(f"assignment {assignment.pk}'s batch has no Prolific study")
        payment = prolific.set_up_bonus(self.client, study.study_id, assignment.worker.external_id, bonus.amount)
        Bonus.objects.filter(pk=bonus.pk, provider_payment_id="").update(provider_payment_id=payment["id"])
        bonus.refresh_from_db()
        return bonus.provider_payment_id

    # -- block, expire -------------------------------------------------------------------------------
    def _blocklist(self) -> str:
        group = settings.PROLIFIC_BLOCKLIST_GROUP_ID
        if not group:
            raise ProviderError(
                "Prolific has no account-wide block through its API: create a participant group on Prolific, set "
                "PROLIFIC_BLOCKLIST_GROUP_ID to its id, and new studies will exclude its members")
        return group

    def _push_block(self, worker: Worker, reason: str) -> None:
        prolific.add_to_group(self.client, self._blocklist(), worker.external_id)

    def _push_unblock(self, worker: Worker) -> None:
        prolific.remove_from_group(self.client, self._blocklist(), worker.external_id)

    def _push_expire(self, hit: Hit) -> None:
        study = ProlificStudy.objects.filter(batch_id=hit.batch_id).exclude(study_id="").first()
        if study is None or study.status == ProlificStudy.Status.STOPPED:
            return
        remote = prolific.get_study(self.client, study.study_id)
        if remote.get("status") in ("ACTIVE", "PAUSED"):
            prolific.transition_study(self.client, study.study_id, "STOP")
        ProlificStudy.objects.filter(pk=study.pk).update(status=ProlificStudy.Status.STOPPED)

    # -- money -------------------------------------------------------------------------------------------
    def spent(self, batch: Batch) -> tuple[Decimal, Decimal]:
        """(rewards, fees) paid so far: each session with approved work is paid one place's reward."""
        study = ProlificStudy.objects.filter(batch=batch).first()
        if study is None:
            return Decimal("0.00"), Decimal("0.00")
        paid_sessions = sum(
            session_assignments(session).filter(status=AssignmentStatus.APPROVED).exists()
            for session in ProlificSession.objects.filter(batch=batch)
        )
        rewards = (batch.reward * study.hits_per_session * paid_sessions).quantize(CENT)
        bonuses = sum(Bonus.objects.filter(assignment__hit__batch=batch, status=Bonus.Status.PAID)
                      .values_list("amount", flat=True), Decimal("0.00"))
        fees = ((rewards + bonuses) * settings.PROLIFIC_SERVICE_FEE_RATE).quantize(CENT, ROUND_HALF_UP)
        return rewards, fees
