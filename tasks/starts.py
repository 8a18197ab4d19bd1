"""The rules for starting a new assignment, shared by every way in (MTurk-style HIT page, link study, local).

A start is refused, with a message for the worker and nothing stored, when the HIT no longer takes
work (expired, past its lifetime, not published), when it already holds its places (plus a margin
for MTurk, see `capacity`), when an anonymous client or worker id started too many assignments
lately (a fixed window counted in Django's cache), or when a local account already holds its share
of unfinished assignments (accounts are bounded by that share, not by the rate limits). Callers run
`check_start` inside the transaction that locks the HIT and creates the assignment, so counting and
creating cannot interleave.
"""

import hashlib
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from tasks.models import Assignment, Batch, Hit, Provider, Worker

MTURK_PROVIDERS = (Provider.MTURK_SANDBOX, Provider.MTURK, Provider.SIMULATOR)
# Our rows of a HIT that still hold (or used) a place: abandoned ones gave theirs back.
HOLDING_STATUSES = (Assignment.Status.ACCEPTED, Assignment.Status.SUBMITTED, Assignment.Status.APPROVED)
DEFAULT_MTURK_LIFETIME_SECONDS = 7 * 24 * 3600  # as tasks.providers.mturk.PublishOptions


class StartRefused(Exception):
    """A new assignment may not start; `detail` tells the worker why, `status` is the HTTP status."""

    def __init__(self, detail: str, status: int, retry_after: int | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.status = status
        self.retry_after = retry_after


@dataclass(frozen=True)
class Starter:
    """Who asks for a new assignment: the client's address and the worker it will belong to."""

    client: str
    worker: Worker


def client_address(meta: dict) -> str:
    """The client's IP: behind N trusted proxies (RELABEL_TRUSTED_PROXY_COUNT), the X-Forwarded-For entry N
    hops from the right, the one our outermost proxy appended.

    Earlier entries of that header come from the client and prove nothing; only the proxies' own are read.
    """
    count = settings.RELABEL_TRUSTED_PROXY_COUNT
    entries = [entry.strip() for entry in meta.get("HTTP_X_FORWARDED_FOR", "").split(",") if entry.strip()]
    if count and len(entries) >= count:
        return entries[-count]
    return meta.get("REMOTE_ADDR", "")


def check_start(hit: Hit, starter: Starter) -> None:
    """Raise StartRefused unless `starter` may open a new assignment on `hit` (locked by the caller)."""
    check_open_for_starts(hit)
    if starter.worker.blocked:
        raise StartRefused("you can no longer work on these HITs", status=403)
    if Assignment.objects.filter(hit=hit, status__in=HOLDING_STATUSES).exclude(
        confirmation=Assignment.Confirmation.DISCARDED
    ).count() >= capacity(hit.batch):
        raise StartRefused("this HIT already has all the answers it needs: return it and take another", 409)
    if starter.worker.provider == Provider.LOCAL:
        _check_local_share(starter.worker)  # a logged-in account: its share bounds it, not its lab's address
    else:
        _count_start(starter)


def check_open_for_starts(hit: Hit) -> None:
    """Raise StartRefused (410 Gone) when the HIT or its batch takes no new work."""
    if hit.status == Hit.Status.EXPIRED or hit.batch.status == Batch.Status.EXPIRED:
        raise StartRefused("this HIT has expired and takes no new work: return it on your platform", 410)
    if hit.status != Hit.Status.PUBLISHED:
        raise StartRefused("this HIT is not open for work", 410)
    ends = lifetime_end(hit)
    if ends is not None and timezone.now() >= ends:
        raise StartRefused(
            f"this HIT's lifetime ended at {ends:%Y-%m-%d %H:%M} UTC and it takes no new work: return it", 410
        )


def lifetime_end(hit: Hit) -> datetime | None:
    """When an MTurk HIT stops taking workers (published + LifetimeInSeconds); None where there is no lifetime."""
    options = hit.batch.options or {}
    seconds = options.get("lifetime_seconds")
    if seconds is None and hit.batch.provider in MTURK_PROVIDERS:
        seconds = DEFAULT_MTURK_LIFETIME_SECONDS
    if seconds is None or hit.published_at is None:
        return None
    return hit.published_at + timedelta(seconds=int(seconds))


def capacity(batch: Batch) -> int:
    """The most assignments one HIT may hold: its places, plus RELABEL_HIT_OVERFILL_MARGIN on MTurk.

    MTurk hands a returned assignment's place to someone else while our row of it waits for its
    deadline, so a HIT can briefly hold a few more of our rows than it has places.
    """
    margin = settings.RELABEL_HIT_OVERFILL_MARGIN if batch.provider in MTURK_PROVIDERS else 0
    return batch.assignments_per_hit + margin


def _check_local_share(worker: Worker) -> None:
    limit = settings.RELABEL_LOCAL_MAX_OPEN_ASSIGNMENTS
    if Assignment.objects.filter(worker=worker, status=Assignment.Status.ACCEPTED).count() >= limit:
        raise StartRefused(
            f"you already hold {limit} unfinished HITs: submit them (from /annotate/) before starting another", 409
        )


def _count_start(starter: Starter) -> None:
    """Count this start for its client and its worker id; refuse with 429 when either is over its limit."""
    window = settings.RELABEL_START_WINDOW_SECONDS
    worker_key = f"{starter.worker.provider}:{starter.worker.external_id}"
    over_client = _over_limit(f"client:{starter.client}", settings.RELABEL_STARTS_PER_CLIENT, window)
    over_worker = _over_limit(f"worker:{worker_key}", settings.RELABEL_STARTS_PER_WORKER, window)
    if over_client or over_worker:
        wait = window - int(time.time()) % window
        raise StartRefused(
            f"too many new assignments started from {'this address' if over_client else 'this worker id'} "
            f"lately: please wait {wait // 60 + 1} minutes and try again", 429, retry_after=wait,
        )


def _over_limit(key: str, limit: int, window: int) -> bool:
    """Count one start under `key` in the current fixed window; True if that makes more than `limit`."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    bucket = f"relabel:starts:{digest}:{int(time.time()) // window}"
    cache.add(bucket, 0, timeout=window)
    try:
        count = cache.incr(bucket)
    except ValueError:  # the bucket expired between add and incr
        cache.set(bucket, 1, timeout=window)
        count = 1
    return count > limit
