"""Storing a worker's answers to a HIT: validation, one transaction, replay-safe.

The caller (the submit view) has parsed the JSON body. Authentication is the signed per-assignment
token (tasks.signing), not a cookie. A replay of a submitted assignment returns the stored result and
changes nothing; any invalid submission raises SubmissionError and stores nothing.
"""

from collections.abc import Mapping
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from annotation.hit_pages import NextHit, next_hit_for
from annotation.models import ClassifyResponse, ContainsJudgment, LabelClass
from label1000.models import Label1000Response
from label1000.services import AnswerError
from label1000.services import store_answers as store_label1000
from relabel.json_input import JSONInputError, load_json
from tasks.models import Assignment, HitItem, Provider, TaskKind
from tasks.prolific_flow import next_url
from tasks.quality import score_assignment
from tasks.signing import TokenError, read_token
from tasks.transitions import TransitionError, transition

MAX_BODY_BYTES = 256 * 1024
MAX_ITEMS = 1000
LOCAL_NEXT_URL = "/annotate/"
DONE_STATUSES = (Assignment.Status.SUBMITTED, Assignment.Status.APPROVED, Assignment.Status.REJECTED)


class SubmissionError(Exception):
    """A submission that is refused; `status` is the HTTP status to answer with."""

    def __init__(self, detail: str, status: int = 400) -> None:
        super().__init__(detail)
        self.detail = detail
        self.status = status


def parse_body(raw: bytes) -> dict:
    """The JSON object of a submission body, or SubmissionError (too large, not JSON, not an object)."""
    if len(raw) > MAX_BODY_BYTES:
        raise SubmissionError(f"the submission is larger than {MAX_BODY_BYTES} bytes", status=413)
    try:
        payload = load_json(raw, max_bytes=MAX_BODY_BYTES)
    except JSONInputError as exc:
        raise SubmissionError(f"the body must be JSON: {exc}") from exc
    if not isinstance(payload, dict):
        raise SubmissionError("the body must be a JSON object")
    return payload


@dataclass(frozen=True)
class Submitted:
    """A stored submission: the `body` to answer with, and for a local annotator the HIT its `next` names."""

    body: dict
    following: NextHit | None = None


def submit(hit_id: int, payload: Mapping, user_id: int | None = None) -> Submitted:
    """Store the answers of the assignment named by the token.

    `user_id` is the logged-in user (local annotators must be the token's worker).
    """
    try:
        claims = read_token(payload.get("token"), hit_id)
    except TokenError as exc:
        raise SubmissionError(str(exc), status=403) from exc
    try:
        with transaction.atomic():
            assignment = _locked_assignment(claims.assignment_id, hit_id, claims.worker_id, user_id)
            if assignment.status in DONE_STATUSES:
                return submission_result(assignment)
            if assignment.status != Assignment.Status.ACCEPTED:
                raise SubmissionError(f"this assignment is {assignment.status}: it can no longer be submitted", 409)
            _check_deadline(assignment)
            stored = _store(assignment, payload)
            transition(assignment, Assignment.Status.SUBMITTED, note="submitted by the worker")
    except (IntegrityError, TransitionError):
        # Another request stored this assignment first: answer with what it stored.
        assignment = Assignment.objects.select_related("hit__batch").get(pk=claims.assignment_id)
        if assignment.status not in DONE_STATUSES:
            raise
        return submission_result(assignment)
    return submission_result(assignment, stored)


def _locked_assignment(assignment_id: int, hit_id: int, worker_id: int, user_id: int | None) -> Assignment:
    assignment = (
        Assignment.objects.select_for_update(of=("self",))
        .select_related("hit__batch", "worker")
        .filter(pk=assignment_id, hit_id=hit_id, worker_id=worker_id)
        .first()
    )
    if assignment is None:
        raise SubmissionError("the token does not match an assignment of this HIT", status=403)
    if assignment.worker.blocked:
        raise SubmissionError("this worker is blocked", status=403)
    if assignment.hit.batch.provider == Provider.LOCAL and assignment.worker.user_id != user_id:
        raise SubmissionError("log in as the annotator this HIT was opened by", status=403)
    return assignment


def _check_deadline(assignment: Assignment) -> None:
    """Work is taken until the assignment's own deadline, even on a HIT expired meanwhile; nothing after."""
    if timezone.now() > assignment.deadline:
        raise SubmissionError(
            f"this assignment's time ran out at {assignment.deadline:%Y-%m-%d %H:%M:%S} UTC: "
            "it can no longer be submitted (return it on your platform)", status=410,
        )


def submission_result(assignment: Assignment, stored: int | None = None) -> Submitted:
    """The answer to a successful submission; the same for every replay but `next`.

    `stored` is the number of rows the submission just wrote; None counts them (replays). `next` sends a
    local annotator straight to their next HIT as it is now (one redirect fewer than /annotate/, which
    also says when nothing is left).
    """
    body = {"status": "submitted", "assignment": assignment.pk,
            "stored": _stored_rows(assignment) if stored is None else stored}
    if assignment.hit.batch.provider != Provider.LOCAL:
        return Submitted({**body, "next": next_url(assignment)})
    following = next_hit_for(assignment.worker) if assignment.worker.user_id is not None else None
    address = reverse("annotation:hit", args=[following.hit.pk]) if following is not None else LOCAL_NEXT_URL
    return Submitted({**body, "next": address}, following)


def _stored_rows(assignment: Assignment) -> int:
    if assignment.hit.batch.kind == TaskKind.CLASSIFY:
        return ClassifyResponse.objects.filter(assignment=assignment).count()
    if assignment.hit.batch.kind == TaskKind.LABEL1000:
        return Label1000Response.objects.filter(assignment=assignment).count()
    return ContainsJudgment.objects.filter(assignment=assignment).count()


def _store(assignment: Assignment, payload: Mapping) -> int:
    """Write the answers; returns the number of rows written."""
    kind = assignment.hit.batch.kind
    if kind == TaskKind.CONTAINS:
        return _store_contains(assignment, payload.get("selected"))
    if kind == TaskKind.CLASSIFY:
        return _store_classify(assignment, payload.get("answers"))
    if kind == TaskKind.LABEL1000:
        try:
            return store_label1000(assignment, payload.get("answers"))
        except AnswerError as exc:
            raise SubmissionError(str(exc)) from exc
    raise SubmissionError(f"{kind} HITs are not submitted here", status=400)


def _int_list(value: object, what: str) -> list[int]:
    if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise SubmissionError(f"{what} must be a list of integers")
    if len(value) > MAX_ITEMS:
        raise SubmissionError(f"{what} has more than {MAX_ITEMS} entries")
    return value


def _store_contains(assignment: Assignment, selected: object) -> int:
    chosen = set(_int_list(selected, "'selected'"))
    roles = dict(HitItem.objects.filter(hit_id=assignment.hit_id).values_list("image_id", "role"))
    images = set(roles)
    unknown = sorted(chosen - images)
    if unknown:
        raise SubmissionError(f"images {unknown} are not in this HIT")
    label_id = assignment.hit.label_id
    if label_id is None:
        raise SubmissionError("this HIT has no class to judge", status=409)
    ContainsJudgment.objects.bulk_create([
        ContainsJudgment(assignment=assignment, image_id=image, label_id=label_id, selected=image in chosen)
        for image in sorted(images)
    ])
    score_assignment(assignment, roles, chosen)
    return len(images)


def validate_classify(answers: object, offered: Mapping[int, list[int]]) -> dict[int, tuple[list[int], int]]:
    """image id → (selected label indices, main label index), checked against the offered labels.

    Every image of the HIT needs one answer: at least one label, only offered labels, main among them.
    """
    if not isinstance(answers, list) or len(answers) > MAX_ITEMS:
        raise SubmissionError(f"'answers' must be a list of at most {MAX_ITEMS} objects")
    checked: dict[int, tuple[list[int], int]] = {}
    for answer in answers:
        if not isinstance(answer, dict):
            raise SubmissionError("each answer must be an object with image, selected and main")
        image = answer.get("image")
        if not isinstance(image, int) or isinstance(image, bool) or image not in offered:
            raise SubmissionError(f"image {image!r} is not in this HIT")
        if image in checked:
            raise SubmissionError(f"image {image} is answered twice")
        selected = sorted(set(_int_list(answer.get("selected"), f"'selected' of image {image}")))
        main = answer.get("main")
        if not selected:
            raise SubmissionError(f"image {image}: select at least one valid label")
        not_offered = [label for label in selected if label not in offered[image]]
        if not_offered:
            raise SubmissionError(f"image {image}: labels {not_offered} were not offered")
        if main not in selected or isinstance(main, bool):
            raise SubmissionError(f"image {image}: the main object must be one of the selected labels")
        checked[image] = (selected, main)
    missing = sorted(set(offered) - set(checked))
    if missing:
        raise SubmissionError(f"images {missing} have no answer")
    return checked


def _store_classify(assignment: Assignment, answers: object) -> int:
    offered = dict(HitItem.objects.filter(hit_id=assignment.hit_id).values_list("image_id", "labels"))
    checked = validate_classify(answers, offered)
    label_pk = dict(
        LabelClass.objects.filter(index__in={main for _, main in checked.values()}).values_list("index", "pk")
    )
    ClassifyResponse.objects.bulk_create([
        ClassifyResponse(assignment=assignment, image_id=image, selected=selected, main_label_id=label_pk[main])
        for image, (selected, main) in sorted(checked.items())
    ])
    return len(checked)
