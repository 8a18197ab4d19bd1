"""Worker ids are personal data: everything shown outside the admin uses a salted hash."""

import hashlib
import hmac

from django.conf import settings

from tasks.models import Worker


def public_worker_id(worker_or_external_id: Worker | str, *, raw: bool = False) -> str:
    """A stable pseudonym for a worker (keyed hash with settings.RELABEL_WORKER_ID_SALT).

    `raw=True` returns the provider's id unchanged: pass it only for staff users who asked for raw ids.
    """
    if isinstance(worker_or_external_id, Worker):
        external_id = f"{worker_or_external_id.external_id}"
    else:
        external_id = str(worker_or_external_id)
    if raw:
        return external_id
    salt = str(settings.RELABEL_WORKER_ID_SALT).encode()
    digest = hmac.new(salt, external_id.encode(), hashlib.sha256).hexdigest()
    return f"w_{digest[:16]}"
