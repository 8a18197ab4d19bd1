"""Celery accepts JSON only, and no code path unpickles untrusted bytes."""

import pickle
import re
from pathlib import Path

import pytest
from kombu.exceptions import ContentDisallowed
from kombu.serialization import dumps, loads

from relabel.celery import app

ROOT = Path(__file__).resolve().parents[2]
SOURCE_DIRS = ("relabel", "annotation", "tasks", "models_zoo", "label1000", "demo", "analytics", "scripts", "bench")
UNSAFE = [
    (re.compile(r"\bpickle\.loads?\("), "pickle.load"),
    (re.compile(r"\bcloudpickle\b|\bdill\b"), "pickle-like module"),
    (re.compile(r"\byaml\.load\((?![^)]*SafeLoader)"), "yaml.load without SafeLoader"),
    (re.compile(r"\bnp\.load\([^)]*allow_pickle\s*=\s*True"), "numpy allow_pickle"),
]


def test_celery_serialises_and_accepts_json_only():
    assert app.conf.task_serializer == "json"
    assert app.conf.result_serializer == "json"
    assert list(app.conf.accept_content) == ["json"]


def test_a_pickled_message_is_refused_by_the_accept_list():
    content_type, encoding, body = dumps({"x": 1}, serializer="pickle")
    assert content_type == "application/x-python-serialize"
    with pytest.raises(ContentDisallowed):
        loads(body, content_type, encoding, accept=app.conf.accept_content)
    assert pickle.loads(body) == {"x": 1}  # noqa: S301 - our own bytes: without the allow-list they would load


def python_sources() -> list[Path]:
    return [path for folder in SOURCE_DIRS for path in (ROOT / folder).rglob("*.py") if "migrations" not in path.parts]


def test_no_source_file_unpickles_or_loads_yaml_unsafely():
    offenders = [
        f"{path.relative_to(ROOT)}:{number}: {what}"
        for path in python_sources()
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        for pattern, what in UNSAFE
        if pattern.search(line)
    ]
    assert offenders == []


def test_every_torch_load_is_weights_only():
    calls = [
        (path, match.group(0))
        for path in python_sources()
        for match in re.finditer(r"torch\.load\((?:[^()]|\([^()]*\))*\)", path.read_text())
    ]
    unsafe = [f"{path.relative_to(ROOT)}: {call}" for path, call in calls if "weights_only=True" not in call]
    assert unsafe == []
