"""Who is looking at a HIT page, and with which assignment (the HIT page contract).

- MTurk-style visit (`assignmentId`, `workerId`, `turkSubmitTo` in the query): the Worker and the
  Assignment are created on first sight, unconfirmed until the platform's sync lists the assignment
  (an address anyone can invent must not count); `ASSIGNMENT_ID_NOT_AVAILABLE` or no id means preview.
  New starts follow tasks.starts (open HIT, places, rate limits).
- Prolific HITs (tasks.prolific_flow): only an assignment the landing URL gave is shown, never created here.
- A logged-in, non-staff user on a local-provider HIT works as Worker(provider="local", username).
- Everyone else gets a read-only preview.
"""

from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from tasks.exposure import FIRST_CANDIDATES, repeats_an_item
from tasks.models import Assignment, Hit, HitItem, Provider, Worker
from tasks.mturk import WORKER_SITES
from tasks.prolific_flow import PROLIFIC_TARGETS
from tasks.starts import HOLDING_STATUSES, Starter, StartRefused, check_start

PREVIEW_ASSIGNMENT_ID = "ASSIGNMENT_ID_NOT_AVAILABLE"
# MTurk's requester-era site and every worker site (production workers work on worker.mturk.com).
MTURK_HOSTS = ("https://www.mturk.com", *WORKER_SITES.values())
MAX_PARAM_LENGTH = 128


class VisitError(Exception):
    """The HIT cannot be worked on as asked; the message is shown to the worker."""

    def __init__(self, detail: str, status: int = 400, retry_after: int | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.status = status
        self.retry_after = retry_after


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


def resolve_visit(
    hit: Hit, params: dict[str, str], user: AbstractBaseUser | AnonymousUser, client: str = ""
) -> Visit:
    """Decide preview or work for this request, creating the Worker and Assignment when working.

    `client` is the visitor's address (tasks.starts.client_address), counted when a new assignment starts.
    """
    assignment_id = params.get("assignmentId", "")
    if hit.batch.provider == Provider.LOCAL:
        if user.is_authenticated and not user.is_staff:
            return Visit(_local_assignment(hit, user, client))
        return Visit(None)
    if not assignment_id or assignment_id == PREVIEW_ASSIGNMENT_ID:
        return Visit(None)
    worker_id = params.get("workerId", "")
    if not worker_id or max(len(assignment_id), len(worker_id)) > MAX_PARAM_LENGTH:
        raise VisitError("the HIT address lacks a valid workerId or assignmentId")
    submit_to = params.get("turkSubmitTo")
    submit_url = mturk_submit_url(submit_to) if submit_to else None
    return Visit(_provider_assignment(hit, worker_id, assignment_id, client), submit_url)


def _existing_assignment(hit: Hit, external_worker_id: str, provider_assignment_id: str) -> Assignment | None:
    existing = (
        Assignment.objects.select_related("worker").filter(provider_assignment_id=provider_assignment_id).first()
    )
    if existing is not None and (existing.hit_id != hit.pk or existing.worker.external_id != external_worker_id):
        raise VisitError("this assignment belongs to another HIT or worker", status=403)
    return existing


def _refuse_repeats(hit: Hit, worker: Worker) -> None:
    """A worker never judges an item twice (adaptive top-ups reuse images): refuse a HIT that would repeat one."""
    if repeats_an_item(hit, worker):
        raise VisitError(
            "you have already judged an image of this HIT in an earlier one: please return this HIT "
            "so that another worker takes it", status=409,
        )


def _provider_assignment(hit: Hit, external_worker_id: str, provider_assignment_id: str, client: str) -> Assignment:
    """The platform's assignment, created UNCONFIRMED on first sight: it counts once the platform's sync saw it.

    Idempotent: parallel first loads of one assignment all get the one row (the HIT lock orders them,
    and a unique-constraint race that slips past it is answered with the row that won).
    """
    if hit.batch.provider in PROLIFIC_TARGETS:
        return _prolific_assignment(hit, external_worker_id, provider_assignment_id)
    existing = _existing_assignment(hit, external_worker_id, provider_assignment_id)
    if existing is not None:
        return existing
    if hit.batch.provider == Provider.LINK:
        raise VisitError("open this study from the link on your platform, not from a HIT address", status=403)
    try:
        with transaction.atomic():
            locked = Hit.objects.select_for_update(of=("self",)).select_related("batch").get(pk=hit.pk)
            existing = _existing_assignment(locked, external_worker_id, provider_assignment_id)
            if existing is not None:
                return existing
            worker, new_worker = Worker.objects.get_or_create(
                provider=hit.batch.provider, external_id=external_worker_id
            )
            check_start(locked, Starter(client, worker))
            if not new_worker:  # a worker created just now has judged nothing yet
                _refuse_repeats(locked, worker)
            return Assignment.objects.create(
                hit=locked, worker=worker, provider_assignment_id=provider_assignment_id,
                confirmation=Assignment.Confirmation.UNCONFIRMED,
            )
    except IntegrityError as exc:
        existing = _existing_assignment(hit, external_worker_id, provider_assignment_id)
        if existing is not None:
            return existing
        raise VisitError("you already have an assignment for this HIT", status=409) from exc
    except StartRefused as exc:
        raise VisitError(exc.detail, exc.status, exc.retry_after) from exc


def _prolific_assignment(hit: Hit, external_worker_id: str, provider_assignment_id: str) -> Assignment:
    """Prolific work starts at the study's landing URL (tasks.prolific_flow); a HIT page never creates any."""
    existing = Assignment.objects.filter(
        provider_assignment_id=provider_assignment_id, hit=hit, worker__provider=hit.batch.provider,
        worker__external_id=external_worker_id,
    ).first()
    if existing is None:
        raise VisitError("this HIT was not given to you: open the study from Prolific", status=403)
    return existing


def _local_assignment(hit: Hit, user: AbstractBaseUser, client: str) -> Assignment:
    """A logged-in annotator's assignment on `hit`: the one they have, or one started now."""
    worker = local_worker(user)
    existing = Assignment.objects.filter(hit=hit, worker=worker).first()
    if existing is not None:
        return existing
    return start_local_assignment(hit, worker, client)


def start_local_assignment(hit: Hit, worker: Worker, client: str, repeats_checked: bool = False) -> Assignment:
    """Start a local annotator's assignment on `hit`: confirmed at once, since the account itself holds the place.

    `repeats_checked`: the caller has just found that the HIT repeats no item for this worker (next_hit_for),
    so that check is not run twice. Idempotent: a parallel first load that created the row first (the HIT lock
    orders them) is answered with that row.
    """
    try:
        with transaction.atomic():
            locked = Hit.objects.select_for_update(of=("self",)).select_related("batch").get(pk=hit.pk)
            check_start(locked, Starter(client, worker))
            if not repeats_checked:
                _refuse_repeats(locked, worker)
            return Assignment.objects.create(
                hit=locked, worker=worker,
                confirmation=Assignment.Confirmation.CONFIRMED, confirmed_at=timezone.now(),
            )
    except IntegrityError:
        return Assignment.objects.get(hit=hit, worker=worker)
    except StartRefused as exc:
        raise VisitError(exc.detail, exc.status, exc.retry_after) from exc


def local_worker(user: AbstractBaseUser) -> Worker:
    """The Worker of a local annotator account (created on first use)."""
    worker, _ = Worker.objects.get_or_create(
        provider=Provider.LOCAL, external_id=user.get_username(), defaults={"user": user}
    )
    if worker.user_id != user.pk:
        raise VisitError("this annotator name is linked to another account", status=403)
    return worker


def next_local_hit(user: AbstractBaseUser) -> Hit | None:
    """The annotator's unfinished local HIT, else the next open one that needs answers and shows them
    nothing they judged before."""
    following = next_hit_for(local_worker(user))
    return following.hit if following is not None else None


@dataclass(frozen=True)
class NextHit:
    """A local annotator's next HIT, as next_hit_for found it for their `worker`.

    `started` is their unfinished assignment on it; None means the HIT is new to them: no assignment of theirs,
    and checked to repeat no item they judged. `after` is the id of the open HIT that came after it in the same
    search (None: none, or not searched), whose first tiles the page fetches ahead.
    """

    hit: Hit
    worker: Worker
    started: Assignment | None = None
    after: int | None = None


# The worker's unfinished local HIT that comes first (batch, then HIT), if any.
_STARTED_SQL = """
    SELECT mine.id FROM tasks_assignment mine
    INNER JOIN tasks_hit started ON started.id = mine.hit_id
    INNER JOIN tasks_batch batch ON batch.id = started.batch_id
    WHERE mine.worker_id = %s AND mine.status = %s AND started.status = %s AND batch.provider = %s
    ORDER BY started.batch_id, started.id
    LIMIT 1
"""


def next_hit_for(worker: Worker) -> NextHit | None:
    """next_local_hit for the annotator's Worker, when the caller has it already (a submission)."""
    with connection.cursor() as cursor:
        cursor.execute(_STARTED_SQL, [worker.pk, Assignment.Status.ACCEPTED, Hit.Status.PUBLISHED, Provider.LOCAL])
        row = cursor.fetchone()
    if row is not None:
        started = Assignment.objects.select_related("hit__batch", "hit__label").get(pk=row[0])
        return NextHit(started.hit, worker, started)
    page = open_local_hits(worker.pk)
    while page:
        hits = Hit.objects.select_related("batch", "label").in_bulk([hit_id for _, hit_id in page])
        for position, (_, hit_id) in enumerate(page):
            hit = hits.get(hit_id)  # None: deleted since the search
            if hit is not None and not repeats_an_item(hit, worker):
                after = page[position + 1][1] if position + 1 < len(page) else None
                return NextHit(hit, worker, after=after)
        page = open_local_hits(worker.pk, past=page[-1])
    return None


# Published local HITs with a place left that the worker holds no assignment on, in the order annotators get
# them (batch, then HIT), past a point of that order. The places taken are counted HIT by HIT, an index lookup
# each, on HITs read in order through the open_hits_in_order index, rather than by joining and grouping every
# assignment: the search costs the same however many assignments the database holds. SQL, like the repeat
# check, because Django spent several times the database's time compiling it.
_OPEN_LOCAL_SQL = """
    SELECT open_hit.batch_id, open_hit.id FROM tasks_hit open_hit
    INNER JOIN tasks_batch batch ON batch.id = open_hit.batch_id
    WHERE batch.provider = %s AND open_hit.status = %s
      AND (open_hit.batch_id > %s OR (open_hit.batch_id = %s AND open_hit.id > %s))
      AND NOT EXISTS (SELECT 1 FROM tasks_assignment mine WHERE mine.hit_id = open_hit.id AND mine.worker_id = %s)
      AND (SELECT COUNT(*) FROM tasks_assignment held
           WHERE held.hit_id = open_hit.id AND held.status IN (%s, %s, %s)) < batch.assignments_per_hit
    ORDER BY open_hit.batch_id, open_hit.id
    LIMIT %s
"""


def open_local_hits(
    worker_id: int, past: tuple[int, int] = (0, 0), limit: int = FIRST_CANDIDATES
) -> list[tuple[int, int]]:
    """(batch id, HIT id) of the first `limit` published local HITs after `past` in annotators' order (batch, then
    HIT) that have a place left and on which the worker holds no assignment."""
    batch_id, hit_id = past
    params = [
        Provider.LOCAL, Hit.Status.PUBLISHED, batch_id, batch_id, hit_id, worker_id, *HOLDING_STATUSES, limit,
    ]
    with connection.cursor() as cursor:
        cursor.execute(_OPEN_LOCAL_SQL, params)
        return [tuple(row) for row in cursor.fetchall()]


@dataclass(frozen=True)
class Progress:
    """Where a local annotator stands in a batch: HIT `position` of `total` (answered + still open to them)."""

    position: int
    total: int


# Answered HITs of the batch (assignments of the worker's that are no longer in progress), and HITs still open
# to them: published, not this one, not answered by them, with a place left. Written as SQL because every local
# HIT page shows it, and Django took several times the database's own time to compile it from querysets.
_PROGRESS_SQL = """
    SELECT
        (SELECT COUNT(*) FROM tasks_assignment mine INNER JOIN tasks_hit answered ON answered.id = mine.hit_id
         WHERE mine.worker_id = %s AND answered.batch_id = %s AND mine.status <> %s),
        (SELECT COUNT(*) FROM tasks_hit other
         WHERE other.batch_id = %s AND other.status = %s AND other.id <> %s
           AND NOT EXISTS (SELECT 1 FROM tasks_assignment mine
                           WHERE mine.hit_id = other.id AND mine.worker_id = %s AND mine.status <> %s)
           AND (SELECT COUNT(*) FROM tasks_assignment held
                WHERE held.hit_id = other.id AND held.status IN (%s, %s, %s)) < %s)
"""


def local_progress(assignment: Assignment) -> Progress:
    """The annotator's place in the HIT's batch: answered HITs plus this one, out of those plus the ones
    still open to them (published, not answered by them, with a free place)."""
    hit, in_progress = assignment.hit, Assignment.Status.ACCEPTED
    params = [
        assignment.worker_id, hit.batch_id, in_progress,
        hit.batch_id, Hit.Status.PUBLISHED, hit.pk, assignment.worker_id, in_progress,
        *HOLDING_STATUSES, hit.batch.assignments_per_hit,
    ]
    with connection.cursor() as cursor:
        cursor.execute(_PROGRESS_SQL, params)
        done, open_to_them = cursor.fetchone()
    current = 1 if assignment.status == in_progress else 0
    return Progress(done + current, done + current + open_to_them)


FIRST_SCREEN_TILES = 24  # a CONTAINS grid's first screen: 4 rows of its widest layout (6 columns), as at 1920x1080


def upcoming_thumbnails(assignment: Assignment, after: int | None = None) -> list[str]:
    """Thumbnail paths of the first tiles of the local annotator's likely next HIT (the next open one in the
    same order as next_local_hit, this one aside), for the browser to fetch while they work on this one.

    `after` is that HIT when the caller found it already (the search that gave this one).
    """
    if after is None:
        following = open_local_hits(assignment.worker_id, limit=1)  # this HIT is theirs: not among them
        if not following:
            return []
        after = following[0][1]
    tiles = HitItem.objects.filter(hit_id=after).exclude(image__thumbnail="").order_by("position")
    return list(tiles.values_list("image__thumbnail", flat=True)[:FIRST_SCREEN_TILES])
