"""A Prolific participant's way through a batch: landing URL → HITs one after another → completion URL.

The landing URL carries PROLIFIC_PID, STUDY_ID and SESSION_ID (Prolific's submission id). A new
session is checked with Prolific before anything is stored (the submission exists, is ACTIVE, and
belongs to this participant and this batch's study), so a forged or foreign id stores nothing. The
same session coming back (a second tab, a reload, the next HIT) resumes where it is. A participant
never gets two assignments of one HIT (the (hit, worker) constraint), and a session Prolific reports
returned or timed out frees its unfinished HITs.
"""

import dataclasses
import re
from dataclasses import dataclass
from urllib.parse import urlencode

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Q, QuerySet

from tasks import prolific
from tasks.models import Assignment, Batch, Hit, ProlificSession, ProlificStudy, Provider, Worker
from tasks.providers.base import ProviderError
from tasks.transitions import AssignmentStatus, TransitionError, settle_confirmation, transition

PROLIFIC_TARGETS = (Provider.PROLIFIC, Provider.PROLIFIC_SIM)
PROLIFIC_ID = re.compile(r"[0-9a-f]{24}")
LANDING_ATTEMPTS = 2
LANDING_TIMEOUT_SECONDS = 10.0


class ArrivalRefused(ProviderError):
    """The participant cannot work with these parameters; the message is shown to them."""

    def __init__(self, detail: str, status: int = 400) -> None:
        super().__init__(detail)
        self.status = status


@dataclass(frozen=True)
class Arrival:
    participant: str
    study_id: str
    session_id: str

    def query(self) -> str:
        return urlencode({"PROLIFIC_PID": self.participant, "STUDY_ID": self.study_id, "SESSION_ID": self.session_id})


def session_assignments(session: ProlificSession) -> QuerySet[Assignment]:
    """The session's assignments: their provider ids are `<SESSION_ID>-<hit id>`."""
    return Assignment.objects.filter(provider_assignment_id__startswith=f"{session.session_id}-")


def arrive(batch: Batch, arrival: Arrival) -> str:
    """Where to send this participant now: their current or next HIT, or Prolific's completion URL."""
    for value, name in ((arrival.participant, "PROLIFIC_PID"), (arrival.study_id, "STUDY_ID"),
                        (arrival.session_id, "SESSION_ID")):
        if not PROLIFIC_ID.fullmatch(value):
            raise ArrivalRefused(f"the study link has no valid {name}: open the study again from Prolific")
    study = ProlificStudy.objects.filter(batch=batch).exclude(study_id="").first()
    if batch.provider not in PROLIFIC_TARGETS or study is None:
        raise ArrivalRefused("this study is not open", status=410)
    if study.study_id != arrival.study_id:
        raise ArrivalRefused("this link belongs to another study", status=403)
    session = ProlificSession.objects.filter(session_id=arrival.session_id).select_related("worker").first()
    if session is None:
        if study.status != ProlificStudy.Status.ACTIVE:  # stopped: sessions already started may still finish
            raise ArrivalRefused("this study is closed", status=410)
        session = _open_session(batch, arrival)
    if session.batch_id != batch.pk or session.worker.external_id != arrival.participant:
        raise ArrivalRefused("this session belongs to another participant or study", status=403)
    return next_step(session, study, arrival)


def _open_session(batch: Batch, arrival: Arrival) -> ProlificSession:
    # Two quick tries: a participant waits on this page, never through a long retry loop.
    client = dataclasses.replace(prolific.client_for(batch.provider), max_attempts=LANDING_ATTEMPTS,
                                 timeout=LANDING_TIMEOUT_SECONDS)
    try:
        remote = prolific.get_submission(client, arrival.session_id)
    except ProviderError as exc:
        if getattr(exc, "status", None) == 404:
            raise ArrivalRefused("Prolific does not know this session: open the study again from Prolific",
                                 status=403) from exc
        raise ArrivalRefused("Prolific cannot be reached to check your session: try again in a minute",
                             status=503) from exc
    if remote.get("participant_id") != arrival.participant or remote.get("study_id") != arrival.study_id:
        raise ArrivalRefused("this session belongs to another participant or study", status=403)
    if remote.get("status") != "ACTIVE":
        raise ArrivalRefused(f"your Prolific submission is {str(remote.get('status')).lower()}: "
                             "it can no longer take work", status=410)
    worker, _ = Worker.objects.get_or_create(provider=batch.provider, external_id=arrival.participant)
    if worker.blocked:
        raise ArrivalRefused("you can no longer take part in this study", status=403)
    try:
        with transaction.atomic():
            return ProlificSession.objects.create(batch=batch, session_id=arrival.session_id, worker=worker)
    except IntegrityError:  # the same session opened in two tabs at once
        return ProlificSession.objects.select_related("worker").get(session_id=arrival.session_id)


def next_step(session: ProlificSession, study: ProlificStudy, arrival: Arrival) -> str:
    if session.status == ProlificSession.Status.RETURNED:
        raise ArrivalRefused("you returned this study on Prolific (or its time ran out): its work is closed",
                             status=410)
    mine = session_assignments(session)
    unfinished = mine.filter(status=AssignmentStatus.ACCEPTED).first()
    if unfinished is not None:
        return hit_url(unfinished)
    done = mine.exclude(status=AssignmentStatus.ABANDONED).count()
    if session.status == ProlificSession.Status.ACTIVE and done < study.hits_per_session:
        assignment = _take_hit(session)
        if assignment is not None:
            return hit_url(assignment)
    if done == 0:
        raise ArrivalRefused("all the work of this study is taken: please return the study on Prolific", status=409)
    ProlificSession.objects.filter(pk=session.pk, status=ProlificSession.Status.ACTIVE).update(
        status=ProlificSession.Status.COMPLETED)
    return completion_url(session.batch, study, session)


def _take_hit(session: ProlificSession) -> Assignment | None:
    batch = session.batch
    with transaction.atomic():
        Batch.objects.select_for_update().get(pk=batch.pk)  # one participant placed at a time
        hit = (
            Hit.objects.filter(batch=batch, status=Hit.Status.PUBLISHED)
            .exclude(assignments__worker=session.worker)
            .annotate(taken=Count("assignments", filter=~Q(assignments__status=AssignmentStatus.ABANDONED)))
            .filter(taken__lt=batch.assignments_per_hit).order_by("taken", "pk").first()
        )
        if hit is None:
            return None
        return Assignment.objects.create(
            hit=hit, worker=session.worker, provider_assignment_id=f"{session.session_id}-{hit.pk}",
            confirmation=Assignment.Confirmation.UNCONFIRMED,
        )


def hit_url(assignment: Assignment) -> str:
    query = urlencode({"assignmentId": assignment.provider_assignment_id, "hitId": assignment.hit_id,
                       "workerId": assignment.worker.external_id})
    return f"/hit/{assignment.hit_id}/?{query}"


def completion_url(batch: Batch, study: ProlificStudy, session: ProlificSession) -> str:
    """Prolific's completion URL with the study's code (the simulator also needs the session)."""
    query = {"cc": study.completion_code}
    if batch.provider == Provider.PROLIFIC_SIM:
        query["session"] = session.session_id
    return f"{settings.PROLIFIC_COMPLETION_URL}?{urlencode(query)}"


def next_url(assignment: Assignment) -> str | None:
    """After a HIT is submitted: the landing URL again, which serves the next HIT or the completion URL."""
    batch = assignment.hit.batch
    if batch.provider not in PROLIFIC_TARGETS:
        return None
    session = ProlificSession.objects.filter(
        session_id=assignment.provider_assignment_id.rsplit("-", 1)[0]).select_related("worker").first()
    study = ProlificStudy.objects.filter(batch=batch).first()
    if session is None or study is None:
        return None
    arrival = Arrival(session.worker.external_id, study.study_id, session.session_id)
    return f"/prolific/{batch.pk}/start/?{arrival.query()}"


def free_session(session: ProlificSession, why: str) -> bool:
    """Prolific says returned or timed out: unfinished HITs go back to others, finished ones never count."""
    changed = ProlificSession.objects.filter(pk=session.pk).exclude(
        status=ProlificSession.Status.RETURNED).update(status=ProlificSession.Status.RETURNED)
    for assignment in session_assignments(session).order_by("pk"):
        if assignment.status == AssignmentStatus.ACCEPTED:
            try:
                transition(assignment, AssignmentStatus.ABANDONED, note=f"Prolific: {why}")
            except TransitionError:
                assignment.refresh_from_db()
        settle_confirmation(assignment, Assignment.Confirmation.DISCARDED, f"Prolific: {why}")
    return bool(changed)
