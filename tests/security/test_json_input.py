"""Bounded JSON input: size and nesting are checked before parsing, in linear time."""

import subprocess
import sys

import pytest

from relabel.json_input import JSONInputError, load_json, nesting_depth


@pytest.mark.parametrize(("text", "depth"), [
    ("1", 0), ("[]", 1), ('{"a": [[1], {"b": []}]}', 4), ('["[[[[", "\\"[[["]', 1), ('"{{{"', 0),
    ('["\\\\", [[]]]', 3),
])
def test_it_counts_nesting_outside_strings(text, depth):
    assert nesting_depth(text) == depth


def test_it_parses_ordinary_json():
    assert load_json(b'{"token": "t", "answers": [{"image": 1, "selected": [1, 2]}]}', max_bytes=1000) == {
        "token": "t", "answers": [{"image": 1, "selected": [1, 2]}]}


@pytest.mark.parametrize("raw", [b"[" * 1000 + b"]" * 1000, b"[" * 100_000, b'{"a":' * 50 + b"1" + b"}" * 50])
def test_it_refuses_deep_nesting_with_a_message(raw):
    with pytest.raises(JSONInputError, match="levels deep"):
        load_json(raw, max_bytes=1 << 20)


def test_it_refuses_oversized_input_before_reading_it():
    with pytest.raises(JSONInputError, match="over the limit of 10"):
        load_json(b'"' + b"x" * 20 + b'"', max_bytes=10)


@pytest.mark.parametrize("raw", [b"\xff\xfe", b"{'a': 1}", b"[1,", b""])
def test_it_refuses_what_is_not_json(raw):
    with pytest.raises(JSONInputError):
        load_json(raw, max_bytes=100)


@pytest.mark.parametrize("text", ['"\\' * 100_000, '"' * 200_000, '"a' * 100_000, '["' * 100_000, 'x"\\' * 100_000])
def test_it_scans_hostile_strings_in_linear_time(text):
    """A pattern that rescans from every quote took six minutes on the first; a guard, not a benchmark."""
    script = "import sys; from relabel.json_input import nesting_depth; nesting_depth(sys.stdin.read())"
    subprocess.run([sys.executable, "-c", script], input=text, text=True, check=True, timeout=60)
