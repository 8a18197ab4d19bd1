"""Test helpers: an MTurk simulator on a free loopback port, and a batch with HITs ready to publish."""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.error import HTTPError
from urllib.parse import urlencode
from urllib.request import Request, urlopen

from tasks.simulators.mturk import operations
from tasks.simulators.mturk.server import serve_in_thread
from tasks.simulators.mturk.store import Store
from tests.factories import BatchFactory, HitFactory, HitItemFactory, ImageFactory, LabelClassFactory


@contextmanager
def running_simulator(state_path: Path) -> Iterator[str]:
    server, url = serve_in_thread(state_path)
    try:
        yield url
    finally:
        server.shutdown()
        server.server_close()


def post_form(url: str, fields: dict) -> tuple[int, str]:
    request = Request(url, data=urlencode(fields).encode(), method="POST")
    try:
        with urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except HTTPError as exc:
        return exc.code, exc.read().decode()


def accept(sim_url: str, hit_id: str, worker_id: str) -> dict:
    status, body = post_form(f"{sim_url}/sim/accept", {"hitId": hit_id, "workerId": worker_id})
    assert status == 200, body
    return json.loads(body)


def advance_clock(state_path: Path, hours: float) -> None:
    """Move the simulator's clock (tokens expire after 24 h, submissions are auto-approved after the delay)."""
    store = Store(state_path)
    with store.change() as state:
        operations.advance_clock(state, hours * 3600)


def inject_fault(state_path: Path, operation: str, kind: str, times: int = 1, after: int = 0) -> None:
    """Make the simulator's next calls of `operation` fail (throttle, service_fault, lost_reply)."""
    store = Store(state_path)
    with store.change() as state:
        operations.inject_fault(state, operation, kind, times, after)


def submit(sim_url: str, assignment_id: str) -> tuple[int, str]:
    """Post the HIT page's externalSubmit form as a worker's browser does (assignmentId and a summary field)."""
    return post_form(f"{sim_url}/mturk/externalSubmit", {"assignmentId": assignment_id, "summary": "2 answers"})


def make_batch(hits: int = 2, assignments: int = 3, reward: str = "0.10", **fields):
    """A CONTAINS batch in draft with `hits` HITs of two images each (one gold positive)."""
    label = LabelClassFactory()
    batch = BatchFactory(reward=reward, assignments_per_hit=assignments, **fields)
    for _ in range(hits):
        hit = HitFactory(batch=batch, label=label)
        HitItemFactory(hit=hit, image=ImageFactory(dataset=batch.dataset, original_label=label), role="gold_pos")
        HitItemFactory(hit=hit, image=ImageFactory(dataset=batch.dataset, original_label=label))
    return batch
