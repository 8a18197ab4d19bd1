"""Every boto3 call to the MTurk requester API, as small typed functions taking an injected client.

Credentials come only from boto3's own chain (environment, AWS profile, instance role) and are
never passed, stored or logged here; the simulator target signs with MTURK_SIMULATOR_ACCESS_KEY_ID,
the only key id the simulator answers. Throttling is retried by botocore's adaptive retry mode.
Errors are told apart by MTurk's TurkErrorCode, never by the wording of their message.
"""

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError
from django.conf import settings

ENDPOINTS = {
    "sandbox": "https://mturk-requester-sandbox.us-east-1.amazonaws.com",
    "production": "https://mturk-requester.us-east-1.amazonaws.com",
}
WORKER_SITES = {
    "sandbox": "https://workersandbox.mturk.com",
    "production": "https://worker.mturk.com",
}
EXTERNAL_QUESTION_NS = (
    "http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2006-07-14/ExternalQuestion.xsd"
)
# MTurk system qualification type ids.
QUAL_APPROVAL_RATE = "000000000000000000L0"
QUAL_APPROVED_HITS = "00000000000000000040"
QUAL_LOCALE = "00000000000000000071"
QUAL_MASTERS = {"sandbox": "2ARFPLSP75KLA8M8DH1HTEQVJT3SY6", "production": "2F1QJWKUDD8XADTFD2Q0G6UTO95ALH",
                "simulator": "2ARFPLSP75KLA8M8DH1HTEQVJT3SY6"}
# Comparators that test whether a worker has a qualification at all: MTurk takes no values with them.
VALUELESS_COMPARATORS = ("Exists", "DoesNotExist")
HIT_ALREADY_EXISTS = "AWS.MechanicalTurk.HitAlreadyExists"
PAGE_SIZE = 100

MTurkClient = Any  # botocore's generated client class has no importable type


class MTurkError(Exception):
    """An MTurk call failed; the message names the operation and MTurk's own error.

    `code` is the AWS error (RequestError, ServiceFault, ThrottlingException...), `turk_error_code`
    MTurk's finer TurkErrorCode when it sent one (e.g. AWS.MechanicalTurk.HitAlreadyExists).
    """

    def __init__(self, message: str, code: str = "", turk_error_code: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.turk_error_code = turk_error_code


@dataclass(frozen=True)
class HitTypeSpec:
    title: str
    description: str
    reward: Decimal
    keywords: str
    assignment_duration: int
    auto_approval_delay: int
    qualifications: list[dict] = field(default_factory=list)


def make_client(target: str) -> MTurkClient:
    """A boto3 MTurk client for sandbox, production or the simulator (settings.MTURK_ENDPOINT_URL)."""
    config = Config(
        retries={"mode": "adaptive", "max_attempts": settings.MTURK_MAX_ATTEMPTS},
        connect_timeout=10,
        read_timeout=30,
    )
    if target == "simulator":
        return boto3.client(
            "mturk", region_name="us-east-1", endpoint_url=settings.MTURK_ENDPOINT_URL, config=config,
            aws_access_key_id=settings.MTURK_SIMULATOR_ACCESS_KEY_ID,
            aws_secret_access_key="simulator",  # noqa: S106 (the simulator checks the key id only)
        )
    if target not in ENDPOINTS:
        raise MTurkError(f"unknown MTurk target {target!r}: use sandbox, production or simulator")
    session = boto3.Session(profile_name=settings.MTURK_AWS_PROFILE or None)
    return session.client("mturk", region_name="us-east-1", endpoint_url=ENDPOINTS[target], config=config)


def _call(client: MTurkClient, operation: str, **params: Any) -> dict:
    try:
        return getattr(client, operation)(**params)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code, turk_code = error.get("Code", ""), exc.response.get("TurkErrorCode", "")
        raise MTurkError(
            f"MTurk {exc.operation_name} failed: {code or '?'}{f' ({turk_code})' if turk_code else ''}: "
            f"{error.get('Message', '')}",
            code, turk_code,
        ) from exc
    except EndpointConnectionError as exc:
        raise MTurkError(f"MTurk {operation} failed: {exc}{_simulator_hint(client)}") from exc
    except BotoCoreError as exc:
        raise MTurkError(f"MTurk {operation} failed: {exc}") from exc


def _simulator_hint(client: MTurkClient) -> str:
    """How to start the offline simulator, when it is the endpoint that did not answer."""
    simulator = urlsplit(settings.MTURK_ENDPOINT_URL)
    if urlsplit(client.meta.endpoint_url).netloc != simulator.netloc:
        return ""
    return (f"; is the offline simulator running? start it first: python manage.py mturk_sim --port "
            f"{simulator.port or 80} (MTURK_ENDPOINT_URL says where it listens)")


def is_hit_duplicate(exc: MTurkError) -> bool:
    """True when CreateHIT was refused because its UniqueRequestToken already made a HIT (in the last 24 h)."""
    return exc.turk_error_code == HIT_ALREADY_EXISTS


def money(amount: Decimal) -> str:
    return f"{amount.quantize(Decimal('0.01'))}"


def external_question(url: str, frame_height: int) -> str:
    """ExternalQuestion XML; MTurk appends assignmentId, hitId, workerId and turkSubmitTo to the URL."""
    return (
        f'<ExternalQuestion xmlns="{EXTERNAL_QUESTION_NS}">'
        f"<ExternalURL>{escape(url)}</ExternalURL>"
        f"<FrameHeight>{int(frame_height)}</FrameHeight>"
        "</ExternalQuestion>"
    )


def get_balance(client: MTurkClient) -> Decimal:
    return Decimal(_call(client, "get_account_balance")["AvailableBalance"])


def create_hit_type(client: MTurkClient, spec: HitTypeSpec) -> str:
    params: dict[str, Any] = {
        "Title": spec.title,
        "Description": spec.description,
        "Reward": money(spec.reward),
        "AssignmentDurationInSeconds": spec.assignment_duration,
        "AutoApprovalDelayInSeconds": spec.auto_approval_delay,
        "QualificationRequirements": spec.qualifications,
    }
    if spec.keywords:
        params["Keywords"] = spec.keywords
    return _call(client, "create_hit_type", **params)["HITTypeId"]


def create_hit(
    client: MTurkClient, *, hit_type_id: str, question: str, max_assignments: int, lifetime: int,
    token: str, annotation: str,
) -> str:
    """CreateHITWithHITType; a repeated token counts as success and the existing HIT's id is returned."""
    try:
        response = _call(
            client, "create_hit_with_hit_type", HITTypeId=hit_type_id, MaxAssignments=max_assignments,
            LifetimeInSeconds=lifetime, Question=question, RequesterAnnotation=annotation,
            UniqueRequestToken=token,
        )
    except MTurkError as exc:
        if not is_hit_duplicate(exc):
            raise
        existing = find_hit_by_annotation(client, annotation)
        if existing is None:
            raise MTurkError(f"{exc} — and no HIT with annotation {annotation!r} was found") from exc
        return existing
    return response["HIT"]["HITId"]


def iter_hits(client: MTurkClient) -> Iterator[dict]:
    params: dict[str, Any] = {"MaxResults": PAGE_SIZE}
    while True:
        page = _call(client, "list_hits", **params)
        yield from page.get("HITs", [])
        if not page.get("NextToken") or not page.get("HITs"):
            return
        params["NextToken"] = page["NextToken"]


def find_hit_by_annotation(client: MTurkClient, annotation: str) -> str | None:
    for hit in iter_hits(client):
        if hit.get("RequesterAnnotation") == annotation:
            return hit["HITId"]
    return None


def get_hit(client: MTurkClient, hit_id: str) -> dict:
    return _call(client, "get_hit", HITId=hit_id)["HIT"]


def iter_assignments(client: MTurkClient, hit_id: str) -> Iterator[dict]:
    """Every submitted, approved or rejected assignment of a HIT, following NextToken."""
    params: dict[str, Any] = {
        "HITId": hit_id,
        "MaxResults": PAGE_SIZE,
        "AssignmentStatuses": ["Submitted", "Approved", "Rejected"],
    }
    while True:
        page = _call(client, "list_assignments_for_hit", **params)
        yield from page.get("Assignments", [])
        if not page.get("NextToken") or not page.get("Assignments"):
            return
        params["NextToken"] = page["NextToken"]


def approve_assignment(
    client: MTurkClient, assignment_id: str, feedback: str = "", override_rejection: bool = False
) -> None:
    """ApproveAssignment; `override_rejection` approves work that was rejected (OverrideRejection)."""
    params: dict[str, Any] = {"AssignmentId": assignment_id}
    if feedback:
        params["RequesterFeedback"] = feedback
    if override_rejection:
        params["OverrideRejection"] = True
    _call(client, "approve_assignment", **params)


def reject_assignment(client: MTurkClient, assignment_id: str, feedback: str) -> None:
    _call(client, "reject_assignment", AssignmentId=assignment_id, RequesterFeedback=feedback)


def send_bonus(
    client: MTurkClient, *, worker_id: str, assignment_id: str, amount: Decimal, reason: str, token: str
) -> None:
    """SendBonus. Any refusal raises, a repeated token too: the caller asks ListBonusPayments what was paid."""
    _call(
        client, "send_bonus", WorkerId=worker_id, AssignmentId=assignment_id, BonusAmount=money(amount),
        Reason=reason, UniqueRequestToken=token,
    )


def list_bonus_payments(client: MTurkClient, assignment_id: str) -> list[dict]:
    """Every bonus MTurk paid for one assignment (WorkerId, BonusAmount, Reason, GrantTime), all pages."""
    params: dict[str, Any] = {"AssignmentId": assignment_id, "MaxResults": PAGE_SIZE}
    payments: list[dict] = []
    while True:
        page = _call(client, "list_bonus_payments", **params)
        payments += page.get("BonusPayments", [])
        if not page.get("NextToken") or not page.get("BonusPayments"):
            return payments
        params["NextToken"] = page["NextToken"]


def block_worker(client: MTurkClient, worker_id: str, reason: str) -> None:
    _call(client, "create_worker_block", WorkerId=worker_id, Reason=reason)


def unblock_worker(client: MTurkClient, worker_id: str, reason: str = "") -> None:
    params: dict[str, Any] = {"WorkerId": worker_id}
    if reason:
        params["Reason"] = reason
    _call(client, "delete_worker_block", **params)


def expire_hit(client: MTurkClient, hit_id: str) -> None:
    """UpdateExpirationForHIT to a time in the past: MTurk expires the HIT at once.

    MTurk refuses to expire an expired HIT; a repeat after an expiry that succeeded (its answer lost, or
    a re-run) is success: the HIT's own expiration, read back, decides.
    """
    try:
        _call(client, "update_expiration_for_hit", HITId=hit_id, ExpireAt=datetime(2015, 1, 1, tzinfo=UTC))
    except MTurkError as exc:
        if exc.code != "RequestError" or not is_expired(get_hit(client, hit_id)):
            raise


def is_expired(hit: dict) -> bool:
    expiration = hit.get("Expiration")
    if isinstance(expiration, datetime):
        return expiration <= datetime.now(UTC)
    return expiration is not None and float(expiration) <= time.time()
