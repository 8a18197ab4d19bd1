"""JSON from outside, with its size and nesting bounded before the parser sees it.

Python's json module recurses once per nested array or object: 1,000 `[` raise RecursionError
(a 500 in a view, an aborted import), and a structure just under the interpreter's limit still
breaks any recursive code that walks it later. Every place JSON comes in (HIT submissions,
import_responses lines, the API's parser, the MTurk simulator's request bodies) calls `load_json`,
which refuses too-large or too-deep input with a JSONInputError saying so, before parsing.
"""

import json
import re

MAX_DEPTH = 20  # our deepest legitimate input (a submission's answers) nests 4 levels
# A string, or an unterminated one up to the end (so that no quote is scanned from twice: linear time).
_STRING = re.compile(r'"(?:[^"\\]++|\\.)*+(?:"|\\?\Z)', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


class JSONInputError(ValueError):
    """JSON input that is refused; the message says what is wrong and what is allowed."""


def nesting_depth(text: str) -> int:
    """How deeply arrays and objects nest in `text` (brackets inside strings do not count)."""
    depth = deepest = 0
    for bracket in _NOT_BRACKET.sub("", _STRING.sub("", text)):
        depth += 1 if bracket in "[{" else -1
        deepest = max(deepest, depth)
    return deepest


def load_json(raw: bytes | str, *, max_bytes: int, max_depth: int = MAX_DEPTH) -> object:
    """The parsed value of `raw`; JSONInputError if it is over `max_bytes`, nests deeper than
    `max_depth`, is not UTF-8 or is not JSON."""
    size = len(raw.encode() if isinstance(raw, str) else raw)
    if size > max_bytes:
        raise JSONInputError(f"the JSON is {size} bytes, over the limit of {max_bytes}")
    try:
        text = raw.decode() if isinstance(raw, bytes) else raw
    except UnicodeDecodeError as exc:
        raise JSONInputError("the JSON is not UTF-8") from exc
    openers = text.count("[") + text.count("{")  # fewer openers than the limit cannot nest too deep
    if openers > max_depth and nesting_depth(text) > max_depth:
        raise JSONInputError(f"the JSON nests arrays or objects more than {max_depth} levels deep")
    try:
        return json.loads(text)
    except ValueError as exc:
        raise JSONInputError(f"not JSON ({getattr(exc, 'msg', exc)})") from exc
