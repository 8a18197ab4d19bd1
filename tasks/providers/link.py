"""A generic link provider: any platform that sends workers to a URL with their id and takes a completion code.

Prolific-style: the researcher pastes the study URL (with the platform's id placeholder) into the
platform, workers come back with the completion code shown at the end, and approvals are reconciled
from the platform's CSV export (`link_reconcile`).
"""

import csv
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from io import StringIO
from urllib.parse import urlencode

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q

from tasks.exposure import first_new_to
from tasks.models import Assignment, Batch, Hit, Provider, Worker
from tasks.providers.base import DEFAULT_REJECT_FEEDBACK, CrowdProvider, ProviderError, SyncReport
from tasks.starts import HOLDING_STATUSES, Starter, StartRefused, capacity, check_start
from tasks.transitions import AssignmentStatus, settle_confirmation

Confirmation = Assignment.Confirmation

ID_COLUMNS = ("participant_id", "participant id", "prolific_pid", "worker_id", "workerid", "worker id")
CODE_COLUMNS = ("completion_code", "completion code", "entered_code", "entered code", "code")
DEFAULT_ID_PARAM = "PROLIFIC_PID"
DEFAULT_PLACEHOLDER = "{{%PROLIFIC_PID%}}"


@dataclass(frozen=True)
class StudyInfo:
    url: str
    completion_code: str


@dataclass
class ReconcileReport:
    approved: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    wrong_code: list[str] = field(default_factory=list)
    no_submission: list[str] = field(default_factory=list)
    already_reviewed: list[str] = field(default_factory=list)
    confirmed: list[str] = field(default_factory=list)
    discarded: list[str] = field(default_factory=list)


def completion_code(batch: Batch) -> str:
    """The batch's completion code, created once (under a row lock so two callers agree)."""
    with transaction.atomic():
        locked = Batch.objects.select_for_update().get(pk=batch.pk)
        code = locked.options.get("completion_code")
        if not code:
            code = secrets.token_hex(4).upper()
            locked.options = {**locked.options, "completion_code": code}
            locked.save(update_fields=["options"])
    batch.options = {**batch.options, "completion_code": code}
    return code


def study_info(batch: Batch) -> StudyInfo:
    """The URL to give the platform (with its worker-id placeholder) and the completion code."""
    param = batch.options.get("link_id_param", DEFAULT_ID_PARAM)
    placeholder = batch.options.get("link_id_placeholder", DEFAULT_PLACEHOLDER)
    base = settings.RELABEL_PUBLIC_BASE_URL.rstrip("/")
    return StudyInfo(url=f"{base}/link/{batch.pk}/start/?{param}={placeholder}", completion_code=completion_code(batch))


def read_export(text: str) -> list[tuple[str, str]]:
    """(participant id, completion code) pairs from a platform's CSV export; column names are matched loosely."""
    reader = csv.DictReader(StringIO(text))
    columns = {name.strip().lower(): name for name in reader.fieldnames or []}
    id_column = next((columns[c] for c in ID_COLUMNS if c in columns), None)
    code_column = next((columns[c] for c in CODE_COLUMNS if c in columns), None)
    if id_column is None or code_column is None:
        raise ProviderError(
            f"the CSV needs a participant id column ({', '.join(ID_COLUMNS)}) and a completion code column "
            f"({', '.join(CODE_COLUMNS)}); found: {', '.join(reader.fieldnames or []) or 'no header'}"
        )
    return [((row[id_column] or "").strip(), (row[code_column] or "").strip()) for row in reader]


class LinkProvider(CrowdProvider):
    """Publishing opens the HITs behind the study URL; approvals come from the platform's export."""

    name = "link"

    def _push_publish(self, hit: Hit) -> list[str]:
        completion_code(hit.batch)
        return []

    def sync(self, batch: Batch) -> SyncReport:
        """Nothing to pull: the platform holds the approvals; use reconcile() with its CSV export."""
        return SyncReport()

    def reconcile(self, batch: Batch, rows: Iterable[tuple[str, str]]) -> ReconcileReport:
        """Approve submitted work whose participant entered the batch's code; reject work that failed QC.

        The export is the platform's word on who took part: a participant with the right code confirms
        their assignments (only confirmed work counts); submitted work of participants the export never
        mentions is discarded (kept, never counted). Work with a wrong code stays unconfirmed for review.
        """
        code = completion_code(batch)
        report = ReconcileReport()
        rows = list(rows)
        for participant, entered in rows:
            if entered.upper() != code.upper():
                report.wrong_code.append(participant)
                continue
            self._confirm_participant(batch, participant, report)
            self._reconcile_participant(batch, participant, report)
        self._discard_unknown(batch, {participant for participant, _ in rows}, report)
        return report

    def _confirm_participant(self, batch: Batch, participant: str, report: ReconcileReport) -> None:
        mine = Assignment.objects.filter(
            hit__batch=batch, worker__external_id=participant, confirmation=Confirmation.UNCONFIRMED
        )
        for assignment in mine.order_by("pk"):
            if settle_confirmation(assignment, Confirmation.CONFIRMED, note="in the platform's export, right code"):
                report.confirmed.append(participant)

    def _discard_unknown(self, batch: Batch, known: set[str], report: ReconcileReport) -> None:
        unknown = Assignment.objects.filter(
            hit__batch=batch, status=AssignmentStatus.SUBMITTED, confirmation=Confirmation.UNCONFIRMED
        ).exclude(worker__external_id__in=known).select_related("worker")
        for assignment in unknown.order_by("pk"):
            if settle_confirmation(assignment, Confirmation.DISCARDED, note="not in the platform's export"):
                report.discarded.append(assignment.worker.external_id)

    def _reconcile_participant(self, batch: Batch, participant: str, report: ReconcileReport) -> None:
        assignments = Assignment.objects.filter(hit__batch=batch, worker__external_id=participant)
        if not assignments.exists():
            report.no_submission.append(participant)
        for assignment in assignments.order_by("pk"):
            if assignment.status == AssignmentStatus.ACCEPTED:
                report.no_submission.append(participant)
                continue
            if assignment.status != AssignmentStatus.SUBMITTED:
                report.already_reviewed.append(participant)
                continue
            if assignment.flagged:
                self.reject(assignment, DEFAULT_REJECT_FEEDBACK)
                report.rejected.append(participant)
            else:
                self.approve(assignment)
                report.approved.append(participant)


def start(batch: Batch, participant: str, client: str = "") -> Assignment:
    """The participant's assignment in this batch: their unfinished one, else a new one on a HIT that needs answers.

    A new assignment is UNCONFIRMED (anyone can type a participant id): reconcile() confirms it from the
    platform's export. `client` is the visitor's address, counted by tasks.starts' rate limits.
    """
    if not participant or len(participant) > 128:
        raise ProviderError("the study link lacks the participant id: check the URL parameters on the platform")
    if batch.provider != Provider.LINK:
        raise ProviderError("this study is not open")
    if batch.status not in (Batch.Status.PUBLISHING, Batch.Status.PUBLISHED):
        raise StartRefused("this study has ended or is not open yet: return it on your platform", 410)
    mine = Assignment.objects.filter(
        hit__batch=batch, worker__provider=Provider.LINK, worker__external_id=participant,
        status=AssignmentStatus.ACCEPTED,
    ).select_related("worker").first()
    if mine is not None and mine.worker.blocked:
        raise ProviderError("you can no longer take part in this study")
    if mine is not None:
        return mine
    with transaction.atomic():
        Batch.objects.select_for_update().get(pk=batch.pk)  # one participant placed at a time
        worker, _ = Worker.objects.get_or_create(provider=Provider.LINK, external_id=participant)
        hit = _hit_with_room(batch, worker)
        if hit is None:
            raise ProviderError("all the work of this study is taken: return the study on the platform")
        check_start(hit, Starter(client, worker))
        return Assignment.objects.create(
            hit=hit, worker=worker, provider_assignment_id=f"L{uuid.uuid4().hex.upper()}",
            confirmation=Assignment.Confirmation.UNCONFIRMED,
        )


def _hit_with_room(batch: Batch, worker: Worker) -> Hit | None:
    """The open HIT of the batch with the fewest places held whose items this worker has never judged."""
    holding = Q(assignments__status__in=HOLDING_STATUSES) & ~Q(assignments__confirmation=Confirmation.DISCARDED)
    return first_new_to(
        worker,
        Hit.objects.filter(batch=batch, status=Hit.Status.PUBLISHED)
        .exclude(assignments__worker=worker)
        .annotate(taken=Count("assignments", filter=holding))
        .filter(taken__lt=capacity(batch)).order_by("taken", "pk"),
    )


def hit_url(assignment: Assignment) -> str:
    """The HIT page with MTurk-style parameters; the page hands back to our /mturk/externalSubmit."""
    base = settings.RELABEL_PUBLIC_BASE_URL.rstrip("/")
    query = urlencode({
        "assignmentId": assignment.provider_assignment_id, "hitId": assignment.hit_id,
        "workerId": assignment.worker.external_id, "turkSubmitTo": base,
    })
    return f"/hit/{assignment.hit_id}/?{query}"


def finish(provider_assignment_id: str) -> tuple[Batch, str]:
    """After submission: the batch and where to send the participant (the platform's completion URL)."""
    assignment = (
        Assignment.objects.select_related("hit__batch").filter(
            provider_assignment_id=provider_assignment_id, hit__batch__provider=Provider.LINK,
        ).first()
    )
    if assignment is None or assignment.status == AssignmentStatus.ACCEPTED:
        raise ProviderError("this work has not been submitted yet: go back and press Submit")
    batch = assignment.hit.batch
    code = completion_code(batch)
    template = batch.options.get("link_completion_url", "https://app.prolific.com/submissions/complete?cc={code}")
    return batch, template.replace("{code}", code)
