"""The simulated Prolific: plain functions over a state dict, validated against openapi_subset.json.

Semantics kept from Prolific: a study is created UNPUBLISHED and opened by its PUBLISH transition;
one submission per participant per study, ACTIVE → AWAITING REVIEW (completion code) → APPROVED or
REJECTED, or RETURNED / TIMED-OUT; approval pays the reward, a bulk bonus is set up then paid, and
paying the same bulk payment again pays again (Prolific's pay is not idempotent). Every money
movement is written to the ledger with its service fee. The clock is `time.time() + clock_offset`.
"""

import csv
import json
import secrets
import time
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from io import StringIO
from pathlib import Path

from jsonschema import Draft202012Validator

SCHEMAS = Path(__file__).with_name("openapi_subset.json")
AUTO_APPROVE_SECONDS = 21 * 24 * 3600
FINISHED = ("APPROVED", "REJECTED", "RETURNED", "TIMED-OUT")
PLACEHOLDERS = ("PROLIFIC_PID", "STUDY_ID", "SESSION_ID")


class SimError(Exception):
    """Answered with `status` and Prolific's error shape."""

    def __init__(self, detail: str, status: int = 400) -> None:
        super().__init__(detail)
        self.detail = detail
        self.status = status


def empty_state() -> dict:
    return {"clock_offset": 0.0, "studies": {}, "submissions": {}, "bonuses": {}, "groups": {},
            "ledger": [], "balance_cents": 1_000_000, "faults": {"throttle": 0, "drop": 0, "drop_path": ""}}


def new_id() -> str:
    """A 24-hex-digit id, the shape of Prolific's ids."""
    return secrets.token_hex(12)


def now(state: dict) -> float:
    return time.time() + state["clock_offset"]


@cache
def _validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(json.loads(SCHEMAS.read_text())["schemas"][name])


def validate(name: str, body: object) -> dict:
    """Raise SimError(400) naming the first field that breaks Prolific's documented shape."""
    error = next(iter(sorted(_validator(name).iter_errors(body), key=lambda e: list(e.path))), None)
    if error is not None:
        where = ".".join(str(part) for part in error.path) or "body"
        raise SimError(f"{where}: {error.message}")
    return body  # type: ignore[return-value]


def money(cents: Decimal | int) -> str:
    return str((Decimal(cents) / 100).quantize(Decimal("0.01")))


def _fee_cents(amount_cents: Decimal, fee_rate: Decimal) -> Decimal:
    return (amount_cents * fee_rate).quantize(Decimal("1"), ROUND_HALF_UP)


def _charge(state: dict, kind: str, participant: str, amount_cents: Decimal, fee_rate: Decimal, ref: str) -> None:
    fee = _fee_cents(amount_cents, fee_rate)
    if amount_cents + fee > state["balance_cents"]:
        raise SimError(f"Insufficient balance: this needs {money(amount_cents + fee)}")
    state["balance_cents"] -= int(amount_cents + fee)
    at = now(state)
    state["ledger"].append({"participant_id": participant, "kind": kind, "amount": money(amount_cents),
                            "ref": ref, "at": at})
    state["ledger"].append({"participant_id": participant, "kind": "fee", "amount": money(fee), "ref": ref, "at": at})


# -- housekeeping ------------------------------------------------------------------------------------
def tick(state: dict, fee_rate: Decimal) -> None:
    """Time out sessions past the study's maximum allowed time; auto-approve reviews left for 21 days."""
    current = now(state)
    for submission in state["submissions"].values():
        study = state["studies"][submission["study_id"]]
        limit = study.get("maximum_allowed_time") or 4 * study["estimated_completion_time"]
        if submission["status"] == "ACTIVE" and submission["started_epoch"] + limit * 60 < current:
            submission["status"] = "TIMED-OUT"
        elif submission["status"] == "AWAITING REVIEW" and (
                submission["completed_epoch"] + AUTO_APPROVE_SECONDS < current):
            _approve(state, submission, fee_rate)


# -- studies -----------------------------------------------------------------------------------------
def create_study(state: dict, body: object) -> dict:
    study = {**validate("CreateStudy", body), "id": new_id(), "status": "UNPUBLISHED",
             "date_created": now(state)}
    state["studies"][study["id"]] = study
    return study


def get_study(state: dict, study_id: str) -> dict:
    study = state["studies"].get(study_id)
    if study is None:
        raise SimError(f"Study {study_id} not found", 404)
    return study


STUDY_MOVES = {"PUBLISH": ("UNPUBLISHED", "ACTIVE"), "PAUSE": ("ACTIVE", "PAUSED"), "START": ("PAUSED", "ACTIVE"),
               "STOP": ("ACTIVE", "AWAITING REVIEW")}


def transition_study(state: dict, study_id: str, body: object) -> dict:
    action = validate("StudyTransition", body)["action"]
    study = get_study(state, study_id)
    source, target = STUDY_MOVES[action]
    if action == "STOP" and study["status"] == "PAUSED":
        source = "PAUSED"
    if study["status"] != source:
        raise SimError(f"Cannot {action} a study that is {study['status']}")
    study["status"] = target
    return study


# -- participants (test hooks) -------------------------------------------------------------------------
def add_participant(state: dict, study_id: str, participant_id: str) -> dict:
    """A participant takes a place: a new ACTIVE submission; returns it with the URL their browser opens."""
    study = get_study(state, study_id)
    if study["status"] != "ACTIVE":
        raise SimError(f"Study {study_id} is {study['status']}: participants cannot join")
    if not participant_id or len(participant_id) > 64:
        raise SimError("participant_id is required")
    mine = [s for s in state["submissions"].values() if s["study_id"] == study_id]
    if any(s["participant_id"] == participant_id for s in mine):
        raise SimError(f"Participant {participant_id} already took part in this study")
    if _blocked(state, study, participant_id):
        raise SimError(f"Participant {participant_id} is excluded by the study's filters", 403)
    taken = sum(s["status"] not in ("RETURNED", "TIMED-OUT") for s in mine)
    if taken >= study["total_available_places"]:
        raise SimError("The study is full")
    submission = {"id": new_id(), "study_id": study_id, "participant_id": participant_id, "status": "ACTIVE",
                  "started_epoch": now(state), "completed_epoch": None, "study_code": ""}
    state["submissions"][submission["id"]] = submission
    return {"url": study_url(study, submission), "submission_id": submission["id"]}


def _blocked(state: dict, study: dict, participant_id: str) -> bool:
    for rule in study.get("filters") or []:
        groups = rule.get("selected_values", []) if rule.get("filter_id") == "participant_group_blocklist" else []
        if any(participant_id in state["groups"].get(group, []) for group in groups):
            return True
    return False


def study_url(study: dict, submission: dict) -> str:
    values = {"PROLIFIC_PID": submission["participant_id"], "STUDY_ID": study["id"], "SESSION_ID": submission["id"]}
    url = study["external_study_url"]
    for name in PLACEHOLDERS:
        url = url.replace(f"{{{{%{name}%}}}}", values[name])
    return url


def complete(state: dict, code: str, session: str, fee_rate: Decimal) -> dict:
    """What Prolific's completion URL does: the code moves the ACTIVE submission on by the code's action."""
    submission = state["submissions"].get(session)
    if submission is None:
        raise SimError(f"No submission {session}", 404)
    if submission["status"] != "ACTIVE":
        raise SimError(f"Submission {session} is {submission['status']}, not ACTIVE")
    study = state["studies"][submission["study_id"]]
    match = next((c for c in study["completion_codes"] if c["code"] == code), None)
    if match is None:
        raise SimError(f"Code {code!r} is not a completion code of this study")
    submission.update(status="AWAITING REVIEW", completed_epoch=now(state), study_code=code)
    if any(action["action"] == "AUTOMATICALLY_APPROVE" for action in match["actions"]):
        _approve(state, submission, fee_rate)
    return submission


def return_submission(state: dict, session: str) -> dict:
    submission = get_submission(state, session)
    if submission["status"] != "ACTIVE":
        raise SimError(f"Submission {session} is {submission['status']}: only an ACTIVE one can be returned")
    submission["status"] = "RETURNED"
    return submission


# -- submissions -------------------------------------------------------------------------------------
def get_submission(state: dict, submission_id: str) -> dict:
    submission = state["submissions"].get(submission_id)
    if submission is None:
        raise SimError(f"Submission {submission_id} not found", 404)
    return submission


def list_submissions(state: dict, study_id: str) -> list[dict]:
    get_study(state, study_id)
    return [s for s in state["submissions"].values() if s["study_id"] == study_id]


def transition_submission(state: dict, submission_id: str, body: object, fee_rate: Decimal) -> dict:
    action = validate("SubmissionTransition", body)["action"]
    submission = get_submission(state, submission_id)
    if action not in ("APPROVE", "REJECT"):
        raise SimError(f"The simulator does not implement {action}")
    if submission["status"] != "AWAITING REVIEW":
        raise SimError(f"Cannot {action} a submission that is {submission['status']}")
    if action == "APPROVE":
        _approve(state, submission, fee_rate)
    else:
        submission["status"] = "REJECTED"
    return submission


def _approve(state: dict, submission: dict, fee_rate: Decimal) -> None:
    study = state["studies"][submission["study_id"]]
    _charge(state, "reward", submission["participant_id"], Decimal(study["reward"]), fee_rate, submission["id"])
    submission["status"] = "APPROVED"


def public_submission(submission: dict) -> dict:
    return {key: value for key, value in submission.items() if not key.endswith("_epoch")}


# -- bonuses -----------------------------------------------------------------------------------------
def set_up_bonus(state: dict, body: object, fee_rate: Decimal) -> dict:
    body = validate("BonusSetup", body)
    study = get_study(state, body.get("study_id") or "")
    rows = []
    for row in csv.reader(StringIO(body.get("csv_bonuses") or "")):
        if not row:
            continue
        if len(row) != 2:
            raise SimError(f"csv_bonuses: each line is '<participant or submission id>,<amount>', got {row}")
        participant = _participant_in(state, study["id"], row[0].strip())
        rows.append([participant, str(Decimal(row[1]).quantize(Decimal("0.01")))])
    if not rows:
        raise SimError("csv_bonuses: no bonus lines")
    amount = sum(Decimal(value) * 100 for _, value in rows)
    fees = _fee_cents(amount, fee_rate)
    payment = {"id": new_id(), "study": study["id"], "rows": rows, "amount": float(amount), "fees": float(fees),
               "total_amount": float(amount + fees), "pay_calls": 0}
    state["bonuses"][payment["id"]] = payment
    return {key: value for key, value in payment.items() if key not in ("rows", "pay_calls")}


def _participant_in(state: dict, study_id: str, some_id: str) -> str:
    for submission in state["submissions"].values():
        if submission["study_id"] == study_id and some_id in (submission["id"], submission["participant_id"]):
            return submission["participant_id"]
    raise SimError(f"csv_bonuses: {some_id} did not take part in study {study_id}")


def pay_bonus(state: dict, payment_id: str, fee_rate: Decimal) -> dict:
    """Pays every call, like Prolific: a second call for the same id pays the participants again."""
    payment = state["bonuses"].get(payment_id)
    if payment is None:
        raise SimError(f"Bulk bonus payment {payment_id} not found", 404)
    for participant, value in payment["rows"]:
        _charge(state, "bonus", participant, Decimal(value) * 100, fee_rate, payment_id)
    payment["pay_calls"] += 1
    return {}


# -- participant groups, balance ------------------------------------------------------------------------
def change_group(state: dict, group_id: str, body: object, add: bool) -> dict:
    ids = validate("ParticipantIds", body)["participant_ids"]
    members = state["groups"].setdefault(group_id, [])
    for participant in ids:
        if add and participant not in members:
            members.append(participant)
        if not add and participant in members:
            members.remove(participant)
    return {"id": group_id, "participant_count": len(members)}


def balance(state: dict) -> dict:
    return {"currency_code": "USD", "total_balance": state["balance_cents"],
            "available_balance": state["balance_cents"]}
