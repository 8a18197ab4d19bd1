"""Worker ids are personal data: everything shown outside the admin uses a keyed pseudonym.

The pseudonym key is derived from settings.RELABEL_WORKER_ID_SALT (SECRET_KEY by default) with HKDF
and a purpose of its own, so the key that signs submission tokens is never the key that makes
pseudonyms, and the pseudonym key itself never leaves this process: SQL exports receive the
finished pseudonyms (analytics.pg_exports), not the key or anything derived from it.
"""

import hashlib
import hmac
from functools import lru_cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

from tasks.models import Worker

PSEUDONYM_PURPOSE = b"relabel worker pseudonym v1"


@lru_cache(maxsize=4)
def _derive_key(secret: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=PSEUDONYM_PURPOSE).derive(secret.encode())


def pseudonym_key() -> bytes:
    """The key of worker pseudonyms: HKDF-SHA256 of RELABEL_WORKER_ID_SALT for PSEUDONYM_PURPOSE."""
    return _derive_key(str(settings.RELABEL_WORKER_ID_SALT))


def public_worker_id(worker_or_external_id: Worker | str, *, raw: bool = False) -> str:
    """A stable pseudonym for a worker (HMAC-SHA256 under pseudonym_key()).

    `raw=True` returns the provider's id unchanged: pass it only for staff users who asked for raw ids.
    """
    if isinstance(worker_or_external_id, Worker):
        external_id = f"{worker_or_external_id.external_id}"
    else:
        external_id = str(worker_or_external_id)
    if raw:
        return external_id
    digest = hmac.new(pseudonym_key(), external_id.encode(), hashlib.sha256).hexdigest()
    return f"w_{digest[:16]}"
