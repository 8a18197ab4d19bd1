"""Per-assignment submission tokens.

The HIT page runs inside MTurk's iframe, where third-party cookies (session, CSRF) may be blocked.
The page therefore carries a signed token that binds the assignment, its HIT and its worker; the
submit endpoint trusts the token instead of a cookie, and checks it against the database.
"""

from dataclasses import dataclass

from django.conf import settings
from django.core import signing

from tasks.models import Assignment

SALT = "relabel.tasks.assignment-submit"


class TokenError(Exception):
    """The token is missing, forged, expired or does not belong to this HIT."""


@dataclass(frozen=True)
class TokenClaims:
    assignment_id: int
    hit_id: int
    worker_id: int


def make_token(assignment: Assignment) -> str:
    """Sign the assignment's identity; only this server can produce a valid token."""
    payload = {"a": assignment.pk, "h": assignment.hit_id, "w": assignment.worker_id}
    return signing.dumps(payload, salt=SALT, compress=False)


def read_token(token: object, hit_id: int) -> TokenClaims:
    """Return the claims of a valid token issued for `hit_id`, or raise TokenError."""
    if not isinstance(token, str) or not token:
        raise TokenError("missing submission token: reload the HIT page")
    max_age = getattr(settings, "RELABEL_SUBMIT_TOKEN_MAX_AGE", 7 * 24 * 3600)
    try:
        payload = signing.loads(token, salt=SALT, max_age=max_age)
    except signing.SignatureExpired as exc:
        raise TokenError("the submission token has expired: reload the HIT page") from exc
    except signing.BadSignature as exc:
        raise TokenError("invalid submission token") from exc
    try:
        claims = TokenClaims(int(payload["a"]), int(payload["h"]), int(payload["w"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise TokenError("invalid submission token") from exc
    if claims.hit_id != hit_id:
        raise TokenError("this token belongs to another HIT")
    return claims
