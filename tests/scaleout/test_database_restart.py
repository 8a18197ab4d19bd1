"""PostgreSQL restarted while annotators submit: requests fail cleanly, no partial rows, service resumes."""

import threading
import time

import psycopg
import pytest

from tests.scaleout.conftest import accept_hit
from tests.scaleout.services import (
    UNLIMITED_STARTS,
    PrivatePostgres,
    app_env,
    build_scenario,
    free_port,
    http,
    manage,
    start_gunicorn,
    stop_process,
)

pytestmark = pytest.mark.postgres
HITS = 200  # more than the annotators get through: they stop once the database is back and answering
GRID = 6


@pytest.fixture
def private_postgres():
    server = PrivatePostgres()
    server.init()
    yield server
    server.remove()


def annotate(base: str, hits: list[dict], worker: str, outcomes: list, stop: threading.Event) -> None:
    """One annotator going through HITs as fast as it can; records (status, hit, submission) per HIT."""
    for hit in hits:
        if stop.is_set():
            return
        submission = None
        try:
            submission = {"token": accept_hit(base, hit["id"], worker), "selected": hit["images"][:3]}
            status, _ = http("POST", f"{base}/hit/{hit['id']}/submit/", submission)
        except (AssertionError, OSError, AttributeError) as exc:
            status = f"failed: {type(exc).__name__}"
        outcomes.append((status, hit["id"], submission))
        time.sleep(0.05)


def wait_for_success(outcomes: list, since: int, timeout: float = 60) -> None:
    """Until a HIT started after the restart is stored: annotators keep working until then, however fast."""
    deadline = time.monotonic() + timeout
    while not any(status == 200 for status, _, _ in outcomes[since:]) and time.monotonic() < deadline:
        time.sleep(0.1)


def retry_failed(base: str, outcomes: list) -> list:
    """What a browser does after an error: send the same submission again (a replay is idempotent)."""
    return [http("POST", f"{base}/hit/{hit_id}/submit/", submission)[0]
            for status, hit_id, submission in outcomes if status != 200 and submission is not None]


def test_requests_fail_cleanly_and_no_partial_rows_survive_a_restart(tmp_path, private_postgres):
    env = app_env(tmp_path, private_postgres.url, DB_CONN_MAX_AGE="0", **UNLIMITED_STARTS)
    manage(env, "migrate", "-v0")
    hits = build_scenario(env, hits=HITS, grid=GRID)["hits"]
    port = free_port()
    web = start_gunicorn(env, port, tmp_path / "web.log", workers=2)
    base = f"http://127.0.0.1:{port}"
    outcomes: list = []
    stop = threading.Event()
    annotators = [threading.Thread(target=annotate, args=(base, hits, f"ADB{n}", outcomes, stop)) for n in range(3)]
    try:
        for thread in annotators:
            thread.start()
        time.sleep(2)
        before_restart = len(outcomes)
        private_postgres.stop("fast")
        time.sleep(2)
        restarted_at = len(outcomes)
        private_postgres.start()
        wait_for_success(outcomes, restarted_at)
        stop.set()
        for thread in annotators:
            thread.join(timeout=120)
        retries = retry_failed(base, outcomes)
    finally:
        stop.set()
        stop_process(web)

    statuses = [status for status, _, _ in outcomes]
    assert before_restart > 0 and 200 in statuses
    failures = [status for status in statuses if status != 200]
    assert failures, "the restart should have failed some requests"
    assert all(isinstance(s, str) or s >= 500 for s in failures), f"only 5xx or failed pages expected: {failures}"
    assert statuses[-1] == 200, "the service must resume once the database is back"
    assert set(retries) <= {200}, "a retried submission must be stored or answered with the stored result"
    with psycopg.connect(private_postgres.url) as conn:
        rows = conn.execute(
            "SELECT a.status, COUNT(j.id) FROM tasks_assignment a "
            "LEFT JOIN annotation_containsjudgment j ON j.assignment_id = a.id GROUP BY a.id, a.status"
        ).fetchall()
    assert rows
    for status, judgments in rows:
        assert (status, judgments) in (("submitted", GRID), ("accepted", 0)), "a partial submission was stored"
    submitted = sum(1 for status, _ in rows if status == "submitted")
    assert submitted == statuses.count(200) + len(retries), "every stored submission was acknowledged once retried"
