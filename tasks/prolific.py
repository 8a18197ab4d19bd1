"""Every HTTP call to Prolific's API, as small typed functions over an injected requests.Session.

The token comes from PROLIFIC_API_TOKEN or PROLIFIC_API_TOKEN_FILE when the session is made and lives
only in that session's Authorization header: never in settings, the database, logs or messages.
429 is retried for every call (Prolific refused it before doing anything), honouring Retry-After;
5xx and lost connections are retried only for calls that are safe to repeat. Creating a study and
paying bonuses are not: a lost reply there is resolved by the caller (find the study again by its
internal name; never pay twice), so those calls are sent once.
"""

import logging
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import requests
from django.conf import settings

from tasks.models import Provider
from tasks.providers.base import ProviderError

SIMULATOR_TOKEN = "simulator"  # noqa: S105 (the simulator accepts any token)
log = logging.getLogger(__name__)
API = "/api/v1"
RETRYABLE = frozenset({500, 502, 503, 504})
MAX_RETRY_AFTER = 60.0
REJECTION_MIN_LENGTH = 100
REJECTION_CATEGORIES = frozenset({
    "TOO_QUICKLY", "TOO_SLOWLY", "FAILED_INSTRUCTIONS", "INCOMP_LONGITUDINAL", "FAILED_CHECK",
    "LOW_EFFORT", "MALINGERING", "NO_CODE", "BAD_CODE", "NO_DATA", "UNSUPP_DEVICE", "OTHER",
})


class ProlificError(ProviderError):
    """A Prolific call failed; `status` is the HTTP status (None: no reply), `sent` whether it may have acted."""

    def __init__(self, message: str, status: int | None = None, sent: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.sent = sent


@dataclass(frozen=True)
class Client:
    """A configured session, the API's base URL, and how to wait (tests pass a no-op)."""

    session: requests.Session
    base_url: str
    max_attempts: int = 6
    timeout: float = 30.0
    sleep: Callable[[float], None] = time.sleep


def read_token() -> str:
    """The API token from PROLIFIC_API_TOKEN_FILE or PROLIFIC_API_TOKEN; a clear error when neither is set."""
    path = os.environ.get("PROLIFIC_API_TOKEN_FILE")
    if path:
        try:
            token = Path(path).read_text().strip()
        except OSError as exc:
            raise ProlificError(f"PROLIFIC_API_TOKEN_FILE={path!r} cannot be read: {exc.strerror}") from exc
    else:
        token = os.environ.get("PROLIFIC_API_TOKEN", "").strip()
    if not token:
        raise ProlificError(
            "no Prolific API token: set PROLIFIC_API_TOKEN (or PROLIFIC_API_TOKEN_FILE) to a token made at "
            "app.prolific.com → API tokens"
        )
    return token


def client_for(target: str) -> Client:
    """The client of a target: Prolific itself, or the offline simulator (settings.PROLIFIC_SIMULATOR_URL)."""
    if target == Provider.PROLIFIC_SIM:
        return make_client(settings.PROLIFIC_SIMULATOR_URL, SIMULATOR_TOKEN)
    return make_client()


def make_client(base_url: str | None = None, token: str | None = None) -> Client:
    """A client for Prolific (settings.PROLIFIC_API_URL) or the simulator (any token works there)."""
    session = requests.Session()
    session.headers["Authorization"] = f"Token {token if token is not None else read_token()}"
    session.headers["Accept"] = "application/json"
    return Client(
        session=session, base_url=(base_url or settings.PROLIFIC_API_URL).rstrip("/"),
        max_attempts=settings.PROLIFIC_MAX_ATTEMPTS, timeout=settings.PROLIFIC_TIMEOUT_SECONDS,
    )


def _retry_after(response: requests.Response, attempt: int) -> float:
    raw = response.headers.get("Retry-After", "")
    try:
        return min(max(float(raw), 0.0), MAX_RETRY_AFTER)
    except ValueError:
        return min(2.0 ** attempt / 4, MAX_RETRY_AFTER)


def _detail(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict):
            return str(error.get("detail") or error.get("title") or error)[:300]
        return str(error)[:300]
    return str(body)[:300]


def _advice(status: int) -> str:
    if status == 401:
        return "the API token is wrong or revoked: make a new one and set PROLIFIC_API_TOKEN"
    if status == 403:
        return "the token's account may not do this: check the workspace and the token's owner"
    if status == 404:
        return "Prolific does not know this id: check it, or sync again"
    if status == 429:
        return "Prolific kept throttling: wait a minute and run the command again"
    if status >= 500:
        return "Prolific is failing: check status.prolific.com and run the command again later"
    return "fix the request as Prolific says"


def call(client: Client, method: str, path: str, *, body: dict | None = None, params: dict | None = None,
         idempotent: bool | None = None) -> Any:
    """One API call with retries; returns the decoded JSON (None for an empty body) or raises ProlificError."""
    repeatable = method == "GET" if idempotent is None else idempotent
    url = path if path.startswith("http") else f"{client.base_url}{path}"
    attempt = 0
    while True:
        attempt += 1
        last = attempt >= client.max_attempts
        try:
            response = client.session.request(method, url, json=body, params=params, timeout=client.timeout)
        except requests.RequestException as exc:
            if repeatable and not last:
                client.sleep(min(2.0 ** attempt / 4, MAX_RETRY_AFTER))
                continue
            raise ProlificError(
                f"Prolific {method} {path}: no reply ({type(exc).__name__}); "
                + ("it may have been done: sync before trying again" if not repeatable else "try again later"),
                sent=True,
            ) from exc
        retry = response.status_code == 429 or (response.status_code in RETRYABLE and repeatable)
        if retry and not last:
            client.sleep(_retry_after(response, attempt))
            continue
        if response.status_code >= 400:
            raise ProlificError(
                f"Prolific {method} {path} answered {response.status_code}: {_detail(response)} — "
                f"{_advice(response.status_code)}",
                status=response.status_code, sent=response.status_code >= 500,
            )
        return response.json() if response.content else None


def iter_pages(client: Client, path: str, params: dict | None = None) -> Iterator[dict]:
    """Every item of a paginated list, following `_links.next.href`."""
    page = call(client, "GET", path, params=params)
    while True:
        yield from page.get("results", [])
        next_link = ((page.get("_links") or {}).get("next") or {}).get("href")
        if not next_link or not page.get("results"):
            return
        page = call(client, "GET", next_link)


def cents(amount: Decimal) -> int:
    """Dollars (or pounds) to Prolific's integer cents."""
    return int((Decimal(amount) * 100).quantize(Decimal("1"), ROUND_HALF_UP))


# -- studies ----------------------------------------------------------------------------------------
def create_study(client: Client, study: dict) -> dict:
    """Create a draft study (sent once: a lost reply is resolved by find_study)."""
    return call(client, "POST", f"{API}/studies/", body=study, idempotent=False)


def find_study(client: Client, internal_name: str) -> dict | None:
    """The study with our internal name, whatever its state: how a crash between create and store is undone."""
    for study in iter_pages(client, f"{API}/studies/"):
        if study.get("internal_name") == internal_name:
            return study
    return None


def get_study(client: Client, study_id: str) -> dict:
    return call(client, "GET", f"{API}/studies/{study_id}/")


def transition_study(client: Client, study_id: str, action: str) -> dict:
    """PUBLISH, PAUSE, START or STOP a study (repeating one whose state already changed is refused with 400)."""
    return call(client, "POST", f"{API}/studies/{study_id}/transition/", body={"action": action}, idempotent=True)


# -- submissions ------------------------------------------------------------------------------------
def iter_submissions(client: Client, study_id: str) -> Iterator[dict]:
    return iter_pages(client, f"{API}/submissions/", {"study": study_id})


def get_submission(client: Client, submission_id: str) -> dict:
    return call(client, "GET", f"{API}/submissions/{submission_id}/")


def approve_submission(client: Client, submission_id: str) -> dict:
    return call(client, "POST", f"{API}/submissions/{submission_id}/transition/", body={"action": "APPROVE"},
                idempotent=True)


def reject_submission(client: Client, submission_id: str, message: str, category: str) -> dict:
    """Reject with one of Prolific's categories and a message of at least 100 characters."""
    if category not in REJECTION_CATEGORIES:
        raise ProlificError(f"rejection category {category!r} is not Prolific's: use one of "
                            f"{', '.join(sorted(REJECTION_CATEGORIES))}")
    if len(message.strip()) < REJECTION_MIN_LENGTH:
        raise ProlificError(f"Prolific needs a rejection message of at least {REJECTION_MIN_LENGTH} characters")
    body = {"action": "REJECT", "message": message, "rejection_category": category}
    return call(client, "POST", f"{API}/submissions/{submission_id}/transition/", body=body, idempotent=True)


# -- bonuses (two steps; paying is NOT idempotent) ---------------------------------------------------
def set_up_bonus(client: Client, study_id: str, participant_id: str, amount: Decimal) -> dict:
    """Set up a bulk bonus payment (pays nothing): `{id, amount, fees, total_amount, ...}`."""
    body = {"study_id": study_id, "csv_bonuses": f"{participant_id},{Decimal(amount):.2f}\n"}
    return call(client, "POST", f"{API}/submissions/bonus-payments/", body=body, idempotent=False)


def pay_bonus(client: Client, payment_id: str) -> None:
    """Pay a set-up bulk bonus payment. Prolific pays again on every call: the caller claims it first."""
    call(client, "POST", f"{API}/bulk-bonus-payments/{payment_id}/pay/", idempotent=False)


# -- participants, account --------------------------------------------------------------------------
def add_to_group(client: Client, group_id: str, participant_id: str) -> None:
    call(client, "POST", f"{API}/participant-groups/{group_id}/participants/",
         body={"participant_ids": [participant_id]}, idempotent=True)


def remove_from_group(client: Client, group_id: str, participant_id: str) -> None:
    call(client, "DELETE", f"{API}/participant-groups/{group_id}/participants/",
         body={"participant_ids": [participant_id]}, idempotent=True)


def workspace_balance(client: Client, workspace_id: str) -> Decimal:
    """The workspace's available balance in its currency (Prolific answers in cents)."""
    balance = call(client, "GET", f"{API}/workspaces/{workspace_id}/balance/")
    return (Decimal(balance["available_balance"]) / 100).quantize(Decimal("0.01"))
