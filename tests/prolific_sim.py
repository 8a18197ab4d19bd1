"""Test helpers: the offline Prolific simulator on a free loopback port, its hooks, and a participant's visit."""

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from urllib.error import HTTPError
from urllib.parse import urlsplit
from urllib.request import Request, urlopen

from django.test import Client

from tasks.models import Assignment, Hit
from tasks.simulators.prolific.server import serve_in_thread
from tasks.transitions import transition

FEE_RATE = Decimal("0.333")
BLOCKLIST_GROUP = "relabelblocklist"


@contextmanager
def running_prolific(state_path: Path, settings) -> Iterator[str]:
    """A simulator, with the settings that point Relabel at it (API, completion URL, blocklist group)."""
    server, url = serve_in_thread(state_path, FEE_RATE)
    settings.PROLIFIC_SIMULATOR_URL = url
    settings.PROLIFIC_COMPLETION_URL = f"{url}/_sim/complete"
    settings.PROLIFIC_SERVICE_FEE_RATE = FEE_RATE
    settings.PROLIFIC_BLOCKLIST_GROUP_ID = BLOCKLIST_GROUP
    settings.PROLIFIC_MAX_ATTEMPTS = 6
    try:
        yield url
    finally:
        server.shutdown()
        server.server_close()


def sim(url: str, body: dict | None = None, method: str | None = None) -> tuple[int, object]:
    """One request to the simulator as JSON (with a token for the API); returns (status, decoded body)."""
    data = json.dumps(body).encode() if body is not None else None
    request = Request(url, data=data, method=method or ("POST" if data is not None else "GET"),
                      headers={"Content-Type": "application/json", "Authorization": "Token test"})
    try:
        with urlopen(request, timeout=10) as response:
            raw, status = response.read(), response.status
    except HTTPError as exc:
        raw, status = exc.read(), exc.code
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode()


def participant(name: str) -> str:
    """A Prolific-shaped id (24 hex digits) for a readable test name."""
    return hashlib.sha256(name.encode()).hexdigest()[:24]


def join(sim_url: str, study_id: str, participant_id: str) -> tuple[str, str]:
    """A participant takes a place: (our landing path with its query, their SESSION_ID)."""
    status, body = sim(f"{sim_url}/_sim/studies/{study_id}/participants", {"participant_id": participant_id})
    assert status == 200, body
    parts = urlsplit(body["url"])
    return f"{parts.path}?{parts.query}", body["submission_id"]


def ledger(sim_url: str) -> list[dict]:
    return sim(f"{sim_url}/_sim/ledger")[1]["ledger"]


def submission_status(sim_url: str, session_id: str) -> str:
    return sim(f"{sim_url}/api/v1/submissions/{session_id}/")[1]["status"]


def work_session(sim_url: str, hit: Hit, name: str, flagged: bool = False, client: Client | None = None) -> Assignment:
    """One participant's one-HIT session through the real landing page, answers stored, code sent to Prolific."""
    client = client or Client()
    landing, _ = join(sim_url, hit.provider_hit_id, participant(name))
    response = client.get(landing)
    assert response.status_code == 302, response.content
    assignment = Assignment.objects.get(worker__external_id=participant(name), status=Assignment.Status.ACCEPTED)
    Assignment.objects.filter(pk=assignment.pk).update(flagged=flagged)
    assignment.refresh_from_db()
    transition(assignment, Assignment.Status.SUBMITTED)
    done = client.get(landing)
    assert done.status_code == 302 and "/_sim/complete" in done["Location"], done
    status, body = sim(done["Location"], method="GET")
    assert status == 200, body
    return assignment


def finish_session(client, sim_url: str, batch, name: str, flagged: bool = False) -> str:
    """A participant does their session's HITs (answers stored, `flagged` as QC scored them) and completes."""
    landing, session = join(sim_url, batch.prolific_study.study_id, participant(name))
    while (location := client.get(landing)["Location"]).startswith("/hit/"):
        assignment = Assignment.objects.get(worker__external_id=participant(name), status=Assignment.Status.ACCEPTED)
        Assignment.objects.filter(pk=assignment.pk).update(flagged=flagged)
        assignment.refresh_from_db()
        transition(assignment, Assignment.Status.SUBMITTED)
    assert sim(location, method="GET")[0] == 200
    return session
