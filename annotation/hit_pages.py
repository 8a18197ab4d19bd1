"""Who is looking at a HIT page, and with which assignment (the HIT page contract).

- MTurk-style visit (`assignmentId`, `workerId`, `turkSubmitTo` in the query): the Worker and the
  Assignment are created on first sight; `ASSIGNMENT_ID_NOT_AVAILABLE` or no id means preview.
- A logged-in, non-staff user on a local-provider HIT works as Worker(provider="local", username).
- Everyone else gets a read-only preview.
"""

from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q

from tasks.models import Assignment, Hit, HitItem, Provider, Worker

PREVIEW_ASSIGNMENT_ID = "ASSIGNMENT_ID_NOT_AVAILABLE"
MTURK_HOSTS = ("https://www.mturk.com", "https://workersandbox.mturk.com")
MAX_PARAM_LENGTH = 128
OPEN_STATUSES = (Assignment.Status.ACCEPTED, Assignment.Status.SUBMITTED, Assignment.Status.APPROVED)


class VisitError(Exception):
    """The HIT cannot be worked on as asked; the message is shown to the worker."""

    def __init__(self, detail: str, status: int = 400) -> None:
        super().__init__(detail)
        self.detail = detail
        self.status = status


@dataclass(frozen=True)
class Visit:
    assignment: Assignment | None
    mturk_submit_url: str | None = None

    @property
    def preview(self) -> bool:
        return self.assignment is None


def allowed_worker_origins() -> list[str]:
    """Origins that may frame HIT pages and receive the externalSubmit form."""
    return [*MTURK_HOSTS, *(host.rstrip("/") for host in settings.RELABEL_MTURK_SUBMIT_HOSTS)]


def mturk_submit_url(turk_submit_to: str) -> str:
    """`{turkSubmitTo}/mturk/externalSubmit`, only for MTurk's hosts and the configured extras."""
    parts = urlsplit(turk_submit_to)
    origin = f"{parts.scheme}://{parts.netloc}"
    if parts.path.rstrip("/") or parts.query or parts.fragment or origin not in allowed_worker_origins():
        raise VisitError(f"turkSubmitTo {turk_submit_to!r} is not an MTurk address", status=400)
    return f"{origin}/mturk/externalSubmit"


def resolve_visit(hit: Hit, params: dict[str, str], user: AbstractBaseUser | AnonymousUser) -> Visit:
    """Decide preview or work for this request, creating the Worker and Assignment when working."""
    assignment_id = params.get("assignmentId", "")
    if hit.batch.provider == Provider.LOCAL:
        if user.is_authenticated and not user.is_staff:
            return Visit(_local_assignment(hit, user))
        return Visit(None)
    if not assignment_id or assignment_id == PREVIEW_ASSIGNMENT_ID:
        return Visit(None)
    worker_id = params.get("workerId", "")
    if not worker_id or max(len(assignment_id), len(worker_id)) > MAX_PARAM_LENGTH:
        raise VisitError("the HIT address lacks a valid workerId or assignmentId")
    submit_to = params.get("turkSubmitTo")
    submit_url = mturk_submit_url(submit_to) if submit_to else None
    return Visit(_provider_assignment(hit, worker_id, assignment_id), submit_url)


def _check_open(hit: Hit, worker: Worker) -> None:
    if worker.blocked:
        raise VisitError("you can no longer work on these HITs", status=403)
    if hit.status != Hit.Status.PUBLISHED:
        raise VisitError("this HIT is not open for work", status=410)


def _provider_assignment(hit: Hit, external_worker_id: str, provider_assignment_id: str) -> Assignment:
    worker, _ = Worker.objects.get_or_create(provider=hit.batch.provider, external_id=external_worker_id)
    existing = Assignment.objects.filter(provider_assignment_id=provider_assignment_id).first()
    if existing is not None:
        if existing.hit_id != hit.pk or existing.worker_id != worker.pk:
            raise VisitError("this assignment belongs to another HIT or worker", status=403)
        return existing
    _check_open(hit, worker)
    try:
        with transaction.atomic():
            return Assignment.objects.create(hit=hit, worker=worker, provider_assignment_id=provider_assignment_id)
    except IntegrityError as exc:
        raise VisitError("you already have an assignment for this HIT", status=409) from exc


def _local_assignment(hit: Hit, user: AbstractBaseUser) -> Assignment:
    worker = local_worker(user)
    existing = Assignment.objects.filter(hit=hit, worker=worker).first()
    if existing is not None:
        return existing
    _check_open(hit, worker)
    with transaction.atomic():
        locked = Hit.objects.select_for_update().get(pk=hit.pk)
        taken = Assignment.objects.filter(hit=locked, status__in=OPEN_STATUSES).count()
        if taken >= hit.batch.assignments_per_hit:
            raise VisitError("this HIT already has all the answers it needs", status=409)
        assignment, _ = Assignment.objects.get_or_create(hit=locked, worker=worker)
    return assignment


def local_worker(user: AbstractBaseUser) -> Worker:
    """The Worker of a local annotator account (created on first use)."""
    worker, _ = Worker.objects.get_or_create(
        provider=Provider.LOCAL, external_id=user.get_username(), defaults={"user": user}
    )
    if worker.user_id != user.pk:
        raise VisitError("this annotator name is linked to another account", status=403)
    return worker


def next_local_hit(user: AbstractBaseUser) -> Hit | None:
    """The annotator's unfinished local HIT, else the next open one they have not taken that needs answers."""
    worker = local_worker(user)
    open_hits = Hit.objects.filter(batch__provider=Provider.LOCAL, status=Hit.Status.PUBLISHED)
    started = open_hits.filter(
        assignments__worker=worker, assignments__status=Assignment.Status.ACCEPTED
    ).order_by("batch_id", "id").first()
    if started is not None:
        return started
    return (
        open_hits.exclude(assignments__worker=worker)
        .annotate(taken=Count("assignments", filter=Q(assignments__status__in=OPEN_STATUSES)))
        .filter(taken__lt=F("batch__assignments_per_hit"))
        .order_by("batch_id", "id")
        .first()
    )


@dataclass(frozen=True)
class Progress:
    """Where a local annotator stands in a batch: HIT `position` of `total` (answered + still open to them)."""

    position: int
    total: int


def local_progress(assignment: Assignment) -> Progress:
    """The annotator's place in the HIT's batch: answered HITs plus this one, out of those plus the ones
    still open to them (published, not answered by them, with a free place)."""
    hit = assignment.hit
    mine = Assignment.objects.filter(worker_id=assignment.worker_id, hit__batch_id=hit.batch_id)
    answered = mine.exclude(status=Assignment.Status.ACCEPTED).values("hit_id")
    open_to_them = (
        Hit.objects.filter(batch_id=hit.batch_id, status=Hit.Status.PUBLISHED)
        .exclude(pk__in=answered).exclude(pk=hit.pk)
        .annotate(taken=Count("assignments", filter=Q(assignments__status__in=OPEN_STATUSES)))
        .filter(taken__lt=F("batch__assignments_per_hit"))
        .count()
    )
    done = answered.count()
    current = 1 if assignment.status == Assignment.Status.ACCEPTED else 0
    return Progress(done + current, done + current + open_to_them)


PREFETCHED_TILES = 20  # about the first screenful of a CONTAINS grid at 1280 px


def upcoming_thumbnails(assignment: Assignment) -> list[str]:
    """Thumbnail paths of the first tiles of the local annotator's likely next HIT (the next open one in the
    same order as next_local_hit, this one aside), for the browser to fetch while they work on this one."""
    following = (
        Hit.objects.filter(batch__provider=Provider.LOCAL, status=Hit.Status.PUBLISHED)
        .exclude(pk=assignment.hit_id).exclude(assignments__worker_id=assignment.worker_id)
        .annotate(taken=Count("assignments", filter=Q(assignments__status__in=OPEN_STATUSES)))
        .filter(taken__lt=F("batch__assignments_per_hit"))
        .order_by("batch_id", "id").values_list("pk", flat=True).first()
    )
    if following is None:
        return []
    items = HitItem.objects.filter(hit_id=following).exclude(image__thumbnail="").order_by("position")
    return list(items.values_list("image__thumbnail", flat=True)[:PREFETCHED_TILES])
