"""The simulated MTurk operations: plain functions over the state dict (see store.py).

Sandbox semantics: a starting balance, HITs that are Assignable until full or expired,
assignments Submitted → Approved/Rejected (auto-approved after the delay), fees charged on
approval and on bonuses, UniqueRequestToken honoured for CreateHIT and SendBonus for 24 hours.

Time is the state's own clock (`now()`: the wall clock plus `clock_offset`), so a test can move it
past a token's 24 hours or an auto-approval delay. `faults` in the state make the next calls of an
operation fail as MTurk's do (see `take_fault`).
"""

import secrets
import string
import time
from decimal import Decimal
from urllib.parse import urlencode
from xml.sax.saxutils import escape

from tasks.mturk import QUAL_MASTERS
from tasks.pricing import fee
from tasks.simulators.mturk.validation import RequestError, check_question, parse_money

_ID_ALPHABET = string.ascii_uppercase + string.digits
_TOKEN_USED = 'The idempotency token "{}" has already been processed (result: {}).'  # noqa: S105 (a message)
TOKEN_WINDOW_SECONDS = 24 * 3600  # MTurk remembers a UniqueRequestToken for 24 hours
HIT_ALREADY_EXISTS = "AWS.MechanicalTurk.HitAlreadyExists"  # the code MTurk's API reference names
# The simulator's own codes, in MTurk's style, where the reference names none.
BONUS_ALREADY_PAID = "AWS.MechanicalTurk.BonusAlreadyPaid"
INVALID_STATE = "AWS.MechanicalTurk.InvalidAssignmentState"
DOES_NOT_EXIST = "AWS.MechanicalTurk.DoesNotExist"
HIT_EXPIRED = "AWS.MechanicalTurk.HITAlreadyExpired"
INSUFFICIENT_FUNDS = "AWS.MechanicalTurk.InsufficientFunds"
FAULT_KINDS = ("throttle", "service_fault", "lost_reply")
# Listed HITs and assignments are read from these operations; internal keys never leave the server.
_HIT_FIELDS = (
    "HITId", "HITTypeId", "HITGroupId", "CreationTime", "Title", "Description", "Question", "Keywords",
    "MaxAssignments", "Reward", "AutoApprovalDelayInSeconds", "Expiration", "AssignmentDurationInSeconds",
    "RequesterAnnotation", "QualificationRequirements", "HITReviewStatus",
)
_ASSIGNMENT_FIELDS = (
    "AssignmentId", "WorkerId", "HITId", "AssignmentStatus", "AutoApprovalTime", "AcceptTime", "SubmitTime",
    "ApprovalTime", "RejectionTime", "Deadline", "Answer", "RequesterFeedback",
)


def new_id(length: int = 30) -> str:
    return "3" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(length - 1))


def now(state: dict) -> float:
    """The simulator's clock: the wall clock moved by the state's `clock_offset` (seconds)."""
    return time.time() + float(state.get("clock_offset", 0))


def advance_clock(state: dict, seconds: float) -> None:
    state["clock_offset"] = float(state.get("clock_offset", 0)) + seconds


def inject_fault(state: dict, operation: str, kind: str, times: int = 1, after: int = 0) -> None:
    """Make `times` calls of `operation`, after the next `after` ones, fail: throttled, a ServiceFault, or
    done but unanswered (lost_reply)."""
    if kind not in FAULT_KINDS:
        raise ValueError(f"fault kind {kind!r}: use one of {', '.join(FAULT_KINDS)}")
    state.setdefault("faults", []).append({"operation": operation, "kind": kind, "times": times, "after": after})


def take_fault(state: dict, operation: str) -> str | None:
    """The kind of fault this call of `operation` meets (counting it), or None."""
    for fault in state.get("faults", []):
        if fault["operation"] != operation or fault["times"] <= 0:
            continue
        if fault.get("after", 0) > 0:
            fault["after"] -= 1
            return None
        fault["times"] -= 1
        return fault["kind"]
    return None


def _charge(state: dict, amount: Decimal) -> None:
    balance = Decimal(state["balance"])
    if amount > balance:
        raise RequestError(
            f"Insufficient funds: this needs ${amount} and the balance is ${balance}", INSUFFICIENT_FUNDS
        )
    state["balance"] = str((balance - amount).quantize(Decimal("0.01")))


def _use_token(state: dict, token: str | None, operation: str, result: str) -> None:
    if token:
        state["tokens"][token] = {"operation": operation, "result": result, "at": now(state)}


def _check_token(state: dict, token: str | None, code: str) -> None:
    """Refuse a token used in the last 24 hours; an older one is forgotten, as MTurk forgets it."""
    used = state["tokens"].get(token) if token else None
    if used and now(state) - used.get("at", 0) < TOKEN_WINDOW_SECONDS:
        raise RequestError(_TOKEN_USED.format(token, used["result"]), code)


# -- housekeeping applied before every request -----------------------------------------------------
def tick(state: dict, at: float | None = None) -> None:
    """Auto-approve overdue submissions and free the slots of accepted assignments past their deadline."""
    at = now(state) if at is None else at
    for assignment_id, assignment in list(state["assignments"].items()):
        status = assignment["AssignmentStatus"]
        if status == "Submitted" and assignment["AutoApprovalTime"] <= at:
            _approve(state, assignment, at, "")
        elif status == "Accepted" and assignment["Deadline"] <= at:
            del state["assignments"][assignment_id]


def _counts(state: dict, hit_id: str) -> dict[str, int]:
    counts = {"Accepted": 0, "Submitted": 0, "Approved": 0, "Rejected": 0}
    for assignment in state["assignments"].values():
        if assignment["HITId"] == hit_id:
            counts[assignment["AssignmentStatus"]] += 1
    return counts


def hit_view(state: dict, hit: dict) -> dict:
    at = now(state)
    counts = _counts(state, hit["HITId"])
    taken = sum(counts.values())
    available = max(hit["MaxAssignments"] - taken, 0)
    if hit["Expiration"] > at and available > 0:
        status = "Assignable"
    elif hit["Expiration"] > at and counts["Accepted"]:
        status = "Unassignable"
    else:
        status = "Reviewable"
    view = {key: hit[key] for key in _HIT_FIELDS if key in hit}
    return {
        **view, "HITStatus": status, "NumberOfAssignmentsPending": counts["Accepted"],
        "NumberOfAssignmentsAvailable": available if hit["Expiration"] > at else 0,
        "NumberOfAssignmentsCompleted": counts["Submitted"] + counts["Approved"] + counts["Rejected"],
    }


def _hit(state: dict, hit_id: str) -> dict:
    if hit_id not in state["hits"]:
        raise RequestError(f"Hit {hit_id} does not exist.", DOES_NOT_EXIST)
    return state["hits"][hit_id]


def _assignment(state: dict, assignment_id: str) -> dict:
    assignment = state["assignments"].get(assignment_id)
    if assignment is None or assignment["AssignmentStatus"] == "Accepted":
        raise RequestError(f"Assignment {assignment_id} does not exist.", DOES_NOT_EXIST)
    return assignment


def _assignment_view(assignment: dict) -> dict:
    return {key: assignment[key] for key in _ASSIGNMENT_FIELDS if key in assignment}


def _page(items: list, params: dict) -> dict:
    start = int(params.get("NextToken", "0") or 0)
    size = params.get("MaxResults", 10)
    chunk = items[start:start + size]
    result = {"NumResults": len(chunk)}
    if start + size < len(items):
        result["NextToken"] = str(start + size)
    return {**result, "_items": chunk}


# -- requester operations -----------------------------------------------------------------------
def get_account_balance(state: dict, params: dict) -> dict:
    return {"AvailableBalance": state["balance"], "OnHoldBalance": "0.00"}


def create_hit_type(state: dict, params: dict) -> dict:
    """Identical properties give the same HIT type id, as on MTurk."""
    key = repr(sorted(params.items()))
    for type_id, hit_type in state["hit_types"].items():
        if hit_type["key"] == key:
            return {"HITTypeId": type_id}
    type_id = new_id()
    state["hit_types"][type_id] = {"key": key, **params}
    return {"HITTypeId": type_id}


def create_hit_with_hit_type(state: dict, params: dict) -> dict:
    hit_type = state["hit_types"].get(params["HITTypeId"])
    if hit_type is None:
        raise RequestError(f"Hit type {params['HITTypeId']} does not exist.", DOES_NOT_EXIST)
    _check_token(state, params.get("UniqueRequestToken"), HIT_ALREADY_EXISTS)
    max_assignments = params.get("MaxAssignments", 1)
    reward = Decimal(hit_type["Reward"])
    needed = (reward + fee(reward, max_assignments)) * max_assignments
    if needed > Decimal(state["balance"]):
        raise RequestError(
            f"Insufficient funds: this HIT may cost ${needed}, the balance is ${state['balance']}", INSUFFICIENT_FUNDS
        )
    check_question(params["Question"])
    created = now(state)
    hit_id = new_id()
    state["hits"][hit_id] = {
        "HITId": hit_id, "HITTypeId": params["HITTypeId"], "HITGroupId": params["HITTypeId"],
        "CreationTime": created, "Title": hit_type["Title"], "Description": hit_type["Description"],
        "Question": params["Question"], "Keywords": hit_type.get("Keywords", ""),
        "MaxAssignments": max_assignments, "Reward": hit_type["Reward"],
        "AutoApprovalDelayInSeconds": hit_type.get("AutoApprovalDelayInSeconds", 2_592_000),
        "Expiration": created + params["LifetimeInSeconds"],
        "AssignmentDurationInSeconds": hit_type["AssignmentDurationInSeconds"],
        "RequesterAnnotation": params.get("RequesterAnnotation", ""),
        "QualificationRequirements": hit_type.get("QualificationRequirements", []),
        "HITReviewStatus": "NotReviewed",
    }
    _use_token(state, params.get("UniqueRequestToken"), "CreateHIT", hit_id)
    return {"HIT": hit_view(state, state["hits"][hit_id])}


def get_hit(state: dict, params: dict) -> dict:
    return {"HIT": hit_view(state, _hit(state, params["HITId"]))}


def list_hits(state: dict, params: dict) -> dict:
    hits = sorted(state["hits"].values(), key=lambda hit: (hit["CreationTime"], hit["HITId"]))
    page = _page(hits, params)
    return {**{k: v for k, v in page.items() if k != "_items"}, "HITs": [hit_view(state, h) for h in page["_items"]]}


def list_assignments_for_hit(state: dict, params: dict) -> dict:
    _hit(state, params["HITId"])
    statuses = params.get("AssignmentStatuses") or ["Submitted", "Approved", "Rejected"]
    found = sorted(
        (a for a in state["assignments"].values()
         if a["HITId"] == params["HITId"] and a["AssignmentStatus"] in statuses),
        key=lambda a: (a["AcceptTime"], a["AssignmentId"]),
    )
    page = _page(found, params)
    items = [_assignment_view(a) for a in page["_items"]]
    return {**{k: v for k, v in page.items() if k != "_items"}, "Assignments": items}


def get_assignment(state: dict, params: dict) -> dict:
    assignment = _assignment(state, params["AssignmentId"])
    return {"Assignment": _assignment_view(assignment), "HIT": hit_view(state, state["hits"][assignment["HITId"]])}


def _requires_masters(hit: dict) -> bool:
    masters = set(QUAL_MASTERS.values())
    return any(q["QualificationTypeId"] in masters for q in hit.get("QualificationRequirements", []))


def _approve(state: dict, assignment: dict, at: float, feedback: str) -> None:
    hit = state["hits"][assignment["HITId"]]
    reward = Decimal(hit["Reward"])
    _charge(state, reward + fee(reward, hit["MaxAssignments"], _requires_masters(hit)))
    assignment.update(AssignmentStatus="Approved", ApprovalTime=at)
    if feedback:
        assignment["RequesterFeedback"] = feedback


def _require_status(assignment: dict, allowed: tuple[str, ...]) -> None:
    if assignment["AssignmentStatus"] not in allowed:
        raise RequestError(
            f"This operation can be called with a status of: {', '.join(allowed)} "
            f"(assignment {assignment['AssignmentId']} is {assignment['AssignmentStatus']})",
            INVALID_STATE,
        )


def approve_assignment(state: dict, params: dict) -> dict:
    assignment = _assignment(state, params["AssignmentId"])
    _require_status(assignment, ("Submitted", "Rejected") if params.get("OverrideRejection") else ("Submitted",))
    _approve(state, assignment, now(state), params.get("RequesterFeedback", ""))
    return {}


def reject_assignment(state: dict, params: dict) -> dict:
    assignment = _assignment(state, params["AssignmentId"])
    _require_status(assignment, ("Submitted",))
    assignment.update(
        AssignmentStatus="Rejected", RejectionTime=now(state), RequesterFeedback=params["RequesterFeedback"]
    )
    return {}


def send_bonus(state: dict, params: dict) -> dict:
    """Pay a bonus on submitted or approved work of that worker; a token seen in the last 24 h pays nothing."""
    assignment = _assignment(state, params["AssignmentId"])
    if assignment["WorkerId"] != params["WorkerId"]:
        raise RequestError(f"Assignment {params['AssignmentId']} was not done by worker {params['WorkerId']}")
    _require_status(assignment, ("Submitted", "Approved"))
    _check_token(state, params.get("UniqueRequestToken"), BONUS_ALREADY_PAID)
    amount = parse_money(params["BonusAmount"], "BonusAmount")
    _charge(state, amount + fee(amount))
    state["bonuses"].append({
        "WorkerId": params["WorkerId"], "AssignmentId": params["AssignmentId"], "BonusAmount": str(amount),
        "Reason": params["Reason"], "GrantTime": now(state),
    })
    _use_token(state, params.get("UniqueRequestToken"), "SendBonus", params["AssignmentId"])
    return {}


def list_bonus_payments(state: dict, params: dict) -> dict:
    """The bonuses paid for one HIT or one assignment (exactly one of HITId, AssignmentId)."""
    if bool(params.get("HITId")) == bool(params.get("AssignmentId")):
        raise RequestError("ListBonusPayments needs exactly one of HITId and AssignmentId")
    if params.get("HITId"):
        _hit(state, params["HITId"])
        ids = {a["AssignmentId"] for a in state["assignments"].values() if a["HITId"] == params["HITId"]}
    else:
        ids = {_assignment(state, params["AssignmentId"])["AssignmentId"]}
    page = _page([bonus for bonus in state["bonuses"] if bonus["AssignmentId"] in ids], params)
    return {**{k: v for k, v in page.items() if k != "_items"}, "BonusPayments": page["_items"]}


def create_worker_block(state: dict, params: dict) -> dict:
    state["blocks"][params["WorkerId"]] = params["Reason"]
    return {}


def delete_worker_block(state: dict, params: dict) -> dict:
    state["blocks"].pop(params["WorkerId"], None)
    return {}


def update_expiration_for_hit(state: dict, params: dict) -> dict:
    """A time in the past expires the HIT at once; expiring an expired HIT again is refused."""
    hit = _hit(state, params["HITId"])
    expire_at = float(params["ExpireAt"])
    if hit["Expiration"] <= now(state) and expire_at <= now(state):
        raise RequestError(f"Hit {params['HITId']} has already expired.", HIT_EXPIRED)
    hit["Expiration"] = expire_at
    return {}


OPERATIONS = {
    "GetAccountBalance": get_account_balance,
    "CreateHITType": create_hit_type,
    "CreateHITWithHITType": create_hit_with_hit_type,
    "GetHIT": get_hit,
    "ListHITs": list_hits,
    "ListAssignmentsForHIT": list_assignments_for_hit,
    "GetAssignment": get_assignment,
    "ApproveAssignment": approve_assignment,
    "RejectAssignment": reject_assignment,
    "SendBonus": send_bonus,
    "ListBonusPayments": list_bonus_payments,
    "CreateWorkerBlock": create_worker_block,
    "DeleteWorkerBlock": delete_worker_block,
    "UpdateExpirationForHIT": update_expiration_for_hit,
}


# -- the worker's side ----------------------------------------------------------------------------
def accept(state: dict, hit_id: str, worker_id: str, submit_to: str) -> dict:
    """A simulated worker accepts a HIT: returns the assignment id and the HIT page URL with MTurk's params."""
    hit = _hit(state, hit_id)
    if not worker_id or not worker_id.startswith("A") or not worker_id.isalnum() or not worker_id.isupper():
        raise RequestError(f"workerId {worker_id!r} must look like an MTurk worker id (A followed by A-Z, 0-9)")
    if worker_id in state["blocks"]:
        raise RequestError(f"Worker {worker_id} is blocked by this requester")
    if hit_view(state, hit)["HITStatus"] != "Assignable":
        raise RequestError(f"Hit {hit_id} is not available to accept")
    if any(a["HITId"] == hit_id and a["WorkerId"] == worker_id for a in state["assignments"].values()):
        raise RequestError(f"Worker {worker_id} already has an assignment for HIT {hit_id}")
    accepted_at = now(state)
    assignment_id = new_id()
    state["assignments"][assignment_id] = {
        "AssignmentId": assignment_id, "WorkerId": worker_id, "HITId": hit_id, "AssignmentStatus": "Accepted",
        "AcceptTime": accepted_at, "Deadline": accepted_at + hit["AssignmentDurationInSeconds"],
    }
    url, _ = check_question(hit["Question"])
    query = urlencode({"assignmentId": assignment_id, "hitId": hit_id, "workerId": worker_id,
                       "turkSubmitTo": submit_to})
    return {"assignmentId": assignment_id, "url": f"{url}{'&' if '?' in url else '?'}{query}"}


def answer_xml(fields: dict[str, str]) -> str:
    """The QuestionFormAnswers document MTurk stores for an ExternalQuestion submission."""
    answers = "".join(
        f"<Answer><QuestionIdentifier>{escape(name)}</QuestionIdentifier>"
        f"<FreeText>{escape(value)}</FreeText></Answer>"
        for name, value in fields.items()
    )
    ns = "http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2005-10-01/QuestionFormAnswers.xsd"
    return f'<?xml version="1.0" encoding="UTF-8"?><QuestionFormAnswers xmlns="{ns}">{answers}</QuestionFormAnswers>'


def external_submit(state: dict, form: dict[str, str]) -> dict:
    """A worker's browser posts the HIT page's form: the assignment becomes Submitted.

    As on MTurk: the form names an assignment this worker accepted, before its deadline, and carries at
    least one answer field besides assignmentId.
    """
    assignment_id = form.get("assignmentId", "")
    fields = {k: v for k, v in form.items() if k not in ("assignmentId", "workerId", "hitId")}
    if not fields:
        raise RequestError("the form has no answer field besides assignmentId: MTurk refuses such a submission")
    assignment = state["assignments"].get(assignment_id)
    if assignment is None:
        assignment = _adopt(state, form)
    if form.get("workerId") and form["workerId"] != assignment["WorkerId"]:
        raise RequestError(f"assignment {assignment_id} belongs to another worker than {form['workerId']}")
    if assignment["AssignmentStatus"] != "Accepted":
        raise RequestError(f"assignment {assignment_id} was already submitted")
    submitted_at = now(state)
    if assignment["Deadline"] < submitted_at:
        raise RequestError(f"assignment {assignment_id} is past its deadline")
    hit = state["hits"][assignment["HITId"]]
    assignment.update(
        AssignmentStatus="Submitted", SubmitTime=submitted_at, Answer=answer_xml(fields),
        AutoApprovalTime=submitted_at + hit["AutoApprovalDelayInSeconds"],
    )
    return _assignment_view(assignment)


def _adopt(state: dict, form: dict[str, str]) -> dict:
    """An assignment the simulator never handed out: accept it now if the form names the HIT and the worker."""
    if not form.get("assignmentId"):
        raise RequestError("externalSubmit needs an assignmentId field")
    if not form.get("hitId") or not form.get("workerId"):
        raise RequestError(
            f"unknown assignmentId {form['assignmentId']!r}: accept the HIT first (/sim/accept) "
            "or include hitId and workerId in the form"
        )
    accepted = accept(state, form["hitId"], form["workerId"], "")
    assignment = state["assignments"].pop(accepted["assignmentId"])
    assignment["AssignmentId"] = form["assignmentId"]
    state["assignments"][form["assignmentId"]] = assignment
    return assignment
