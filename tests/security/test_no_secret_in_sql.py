"""No secret material in any SQL text or parameter: pseudonyms are computed in Python under a key of their own.

The PostgreSQL export used to send HMAC pads of RELABEL_WORKER_ID_SALT (SECRET_KEY by default) as query
parameters; pg_stat_activity and the server's logs show them, and XOR-ing them gives back the key.
"""

import hashlib
import hmac

import pytest
from django.db import connection

from analytics.exports import stream
from tasks.privacy import pseudonym_key, public_worker_id
from tests.factories import AssignmentFactory, ClassifyResponseFactory, ContainsJudgmentFactory, ImageFactory

SECRET = "s3cret-salt-that-must-never-reach-the-database-" * 2


def _secret_forms() -> list[bytes]:
    """The salt, the pseudonym key and the HMAC pads of both, as an attacker reading SQL would find them."""
    forms = [SECRET.encode(), pseudonym_key()]
    for key in list(forms):
        block = (hashlib.sha256(key).digest() if len(key) > 64 else key).ljust(64, b"\0")
        forms += [bytes(b ^ 0x36 for b in block), bytes(b ^ 0x5C for b in block)]
    return forms


def _as_bytes(value: object) -> bytes:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    if isinstance(value, dict):
        return b"".join(_as_bytes(v) for v in value.values())
    if isinstance(value, list | tuple):
        return b"".join(_as_bytes(v) for v in value)
    return str(value).encode()


@pytest.mark.django_db
@pytest.mark.parametrize("what", ["contains", "classify_responses", "sf"])
def test_it_sends_no_key_nor_pad_to_the_database(settings, what):
    settings.RELABEL_WORKER_ID_SALT = SECRET
    assignment = AssignmentFactory(confirmation="confirmed")
    image = ImageFactory(dataset=assignment.hit.batch.dataset)
    ContainsJudgmentFactory(assignment=assignment, image=image)
    ClassifyResponseFactory(assignment=assignment, image=image)
    sent: list[bytes] = []

    def record(execute, sql, params, many, context):
        sent.append(sql.encode() + _as_bytes(params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        for fmt in ("csv", "jsonl"):
            text = "".join(stream(assignment.hit.batch.dataset, what, fmt))
            assert what == "sf" or public_worker_id(assignment.worker) in text
    assert sent
    for form in _secret_forms():
        assert not any(form in query for query in sent)
        assert not any(form.hex().encode() in query for query in sent)


def test_the_pseudonym_key_is_derived_for_its_own_purpose(settings):
    settings.RELABEL_WORKER_ID_SALT = SECRET
    assert pseudonym_key() != SECRET.encode() and len(pseudonym_key()) == 32
    plain_hmac = hmac.new(SECRET.encode(), b"A1", hashlib.sha256).hexdigest()[:16]
    assert public_worker_id("A1") != f"w_{plain_hmac}"
    assert public_worker_id("A1") == public_worker_id("A1")  # stable from export to export
    before = public_worker_id("A1")
    settings.RELABEL_WORKER_ID_SALT = SECRET + "x"
    assert public_worker_id("A1") != before
