"""Request validation the way MTurk does it for the fields Relabel sends.

Shapes, required members, types, lengths, patterns and enums come from botocore's own MTurk
service model; the ranges and formats the model does not encode (reward, durations, the
Question XML) are checked here by hand from the MTurk API reference.
"""

import re
import xml.etree.ElementTree as ET
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any
from urllib.parse import urlparse

import botocore.session
from botocore.model import OperationModel, Shape

EXTERNAL_QUESTION_NS = (
    "http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2006-07-14/ExternalQuestion.xsd"
)
RANGES = {
    "MaxAssignments": (1, 1_000_000),
    "LifetimeInSeconds": (30, 31_536_000),
    "AssignmentDurationInSeconds": (30, 31_536_000),
    "AutoApprovalDelayInSeconds": (0, 2_592_000),
}
LENGTHS = {
    "Title": (1, 128),
    "Description": (1, 2000),
    "Keywords": (0, 1000),
    "RequesterAnnotation": (0, 255),
    "RequesterFeedback": (0, 1024),
    "Reason": (1, 1024),
}
MONEY_FIELDS = ("Reward", "BonusAmount")
_TYPES = {"string": str, "boolean": bool, "list": list, "structure": dict, "map": dict}


# MTurk's TurkErrorCode for a request it refuses. Only HitAlreadyExists is named in the API reference; the
# others are the simulator's own names in the same style (callers must not depend on them).
INVALID_PARAMETER = "AWS.MechanicalTurk.InvalidParameterValue"
QUESTION_MAX_BYTES = 65_535


class RequestError(Exception):
    """Answered as MTurk's RequestError (HTTP 400) with `turk_error_code` as its TurkErrorCode."""

    def __init__(self, message: str, turk_error_code: str = INVALID_PARAMETER) -> None:
        super().__init__(message)
        self.turk_error_code = turk_error_code


@cache
def service_model():
    return botocore.session.get_session().get_service_model("mturk")


def operation_model(name: str) -> OperationModel:
    try:
        return service_model().operation_model(name)
    except Exception as exc:
        raise RequestError(f"Unknown operation {name}") from exc


def validate(operation: str, params: Any) -> None:
    """Raise RequestError with MTurk-like wording if `params` is not a valid request for `operation`."""
    shape = operation_model(operation).input_shape
    if shape is None:
        return
    _check(shape, params, "")
    _check_ranges(params)
    if "Question" in params:
        check_question_size(params["Question"])
        check_question(params["Question"])


def _check(shape: Shape, value: Any, path: str) -> None:
    kind = shape.type_name
    where = path or "request"
    if kind in ("integer", "long"):
        if not isinstance(value, int) or isinstance(value, bool):
            raise RequestError(f"Value for {where} must be an integer")
    elif kind in ("timestamp", "double", "float"):
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise RequestError(f"Value for {where} must be a number")
    elif not isinstance(value, _TYPES.get(kind, object)):
        raise RequestError(f"Value for {where} must be of type {kind}")
    _check_metadata(shape, value, where)
    if kind == "structure":
        _check_structure(shape, value, path)
    elif kind == "list":
        for index, item in enumerate(value):
            _check(shape.member, item, f"{path}[{index}]")


def _check_structure(shape: Shape, value: dict, path: str) -> None:
    for name in shape.required_members:
        if name not in value:
            raise RequestError(f"Missing required parameter {path + '.' if path else ''}{name}")
    for name, item in value.items():
        if name not in shape.members:
            raise RequestError(f"Unknown parameter {path + '.' if path else ''}{name}")
        _check(shape.members[name], item, f"{path + '.' if path else ''}{name}")


def _check_metadata(shape: Shape, value: Any, where: str) -> None:
    meta = shape.metadata
    size = len(value) if isinstance(value, str | list) else value
    if "min" in meta and isinstance(size, int) and size < meta["min"]:
        raise RequestError(f"Value for {where} is below its minimum of {meta['min']}")
    if "max" in meta and isinstance(size, int) and size > meta["max"]:
        raise RequestError(f"Value for {where} is above its maximum of {meta['max']}")
    if "pattern" in meta and isinstance(value, str) and not re.search(meta["pattern"], value):
        raise RequestError(f"Value {value!r} for {where} does not match {meta['pattern']}")
    if "enum" in meta and value not in meta["enum"]:
        raise RequestError(f"Value {value!r} for {where} is not one of {', '.join(meta['enum'])}")


def _check_ranges(params: dict) -> None:
    for name, (low, high) in RANGES.items():
        if name in params and not low <= params[name] <= high:
            raise RequestError(f"{name} must be between {low} and {high}, got {params[name]}")
    for name, (low, high) in LENGTHS.items():
        if name in params and not low <= len(params[name]) <= high:
            raise RequestError(f"{name} must be {low} to {high} characters long, got {len(params[name])}")
    for name in MONEY_FIELDS:
        if name in params:
            parse_money(params[name], name)


def parse_money(text: str, name: str = "amount") -> Decimal:
    try:
        amount = Decimal(text)
    except InvalidOperation as exc:
        raise RequestError(f"{name} {text!r} is not an amount in US dollars such as 0.10") from exc
    if amount < Decimal("0.01"):
        raise RequestError(f"{name} must be at least 0.01, got {text}")
    return amount


def check_question_size(question: str) -> None:
    """MTurk refuses Question XML over 64 KB (65,535 bytes, whitespace included)."""
    size = len(question.encode())
    if size > QUESTION_MAX_BYTES:
        raise RequestError(f"Question is {size} bytes: MTurk takes at most {QUESTION_MAX_BYTES} bytes")


def check_question(question: str) -> tuple[str, int]:
    """Parse an ExternalQuestion; return (ExternalURL, FrameHeight)."""
    if "<!DOCTYPE" in question.upper() or "<!ENTITY" in question.upper():
        raise RequestError("Question must not contain a DOCTYPE or entity declarations")
    try:
        root = ET.fromstring(question)  # noqa: S314 (DOCTYPE refused above)
    except ET.ParseError as exc:
        raise RequestError(f"Question is not well-formed XML: {exc}") from exc
    if root.tag != f"{{{EXTERNAL_QUESTION_NS}}}ExternalQuestion":
        raise RequestError("The simulator supports ExternalQuestion (with the 2006-07-14 namespace) only")
    url = (root.findtext(f"{{{EXTERNAL_QUESTION_NS}}}ExternalURL") or "").strip()
    height = (root.findtext(f"{{{EXTERNAL_QUESTION_NS}}}FrameHeight") or "").strip()
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise RequestError(f"ExternalURL {url!r} must be an absolute http(s) URL")
    if not height.isdigit():
        raise RequestError(f"FrameHeight {height!r} must be a non-negative integer")
    return url, int(height)
