"""Redis restarted (without persistence) while proposal chunks are queued: the web keeps accepting
annotations while the broker is down, and once it is back beat re-queues the lost chunks from their
recorded state, so every image still gets its predictions."""

import subprocess
import sys

import psycopg
import pytest

from tests.requirements import copy_samples, require_models
from tests.scaleout.conftest import accept_hit
from tests.scaleout.services import (
    ROOT,
    PrivateRedis,
    app_env,
    build_scenario,
    free_port,
    http,
    manage,
    start_gunicorn,
    start_worker,
    stop_process,
    wait_for,
)

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.models, pytest.mark.samples]
IMAGES = 6
MODEL = "efficientnet_lite0"


@pytest.fixture
def broker(tmp_path):
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    server.stop()


def chunk_states(database_url: str) -> list[str]:
    with psycopg.connect(database_url) as conn:
        return [row[0] for row in conn.execute("SELECT status FROM models_zoo_inferencechunk ORDER BY id")]


def test_queued_chunks_survive_a_broker_restart_and_the_web_works_meanwhile(tmp_path, fresh_database, broker):
    require_models()
    images = copy_samples(tmp_path / "images", start=11, step=150, count=IMAGES)
    env = app_env(tmp_path, fresh_database.url, broker.url, RELABEL_REQUEUE_INTERVAL_SECONDS="2",
                  RELABEL_REQUEUE_MIN_AGE_SECONDS="1", RELABEL_LOADER_WORKERS="0", RELABEL_INFERENCE_DEVICE="cpu")
    manage(env, "migrate", "-v0")
    manage(env, "load_taxonomy")
    manage(env, "import_images", "--dataset", "restart", str(images), "--no-progress")
    hit = build_scenario(env, hits=1, grid=4)["hits"][0]
    manage(env, "propose_candidates", "--dataset", "restart", "--models", MODEL, "--chunk-size", "3",
           "--no-wait", "--no-progress")
    assert chunk_states(fresh_database.url) == ["pending", "pending"]

    port = free_port()
    web = start_gunicorn(env, port, tmp_path / "web.log")
    try:
        broker.stop()
        broker.start()  # a restart without persistence: the queued messages are gone
        broker.stop()
        base = f"http://127.0.0.1:{port}"
        token = accept_hit(base, hit["id"], "ABROKERDOWN")
        status, body = http("POST", f"{base}/hit/{hit['id']}/submit/", {"token": token, "selected": hit["images"][:1]})
        assert status == 200, body
    finally:
        stop_process(web)
    broker.start()

    worker = start_worker(env, "after-restart", tmp_path / "worker.log", queues="inference,default")
    beat = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "relabel", "beat", "-s", str(tmp_path / "beat-schedule")],
        cwd=ROOT, env=env, stdout=(tmp_path / "beat.log").open("w"), stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_for(lambda: chunk_states(fresh_database.url) == ["done", "done"], 240, "the lost chunks to be redone")
    finally:
        stop_process(beat)
        stop_process(worker)
    with psycopg.connect(fresh_database.url) as conn:
        total, distinct = conn.execute(
            "SELECT COUNT(*), COUNT(DISTINCT image_id) FROM models_zoo_prediction"
        ).fetchone()
        judgments = conn.execute("SELECT COUNT(*) FROM annotation_containsjudgment").fetchone()[0]
    assert total == distinct == IMAGES
    assert judgments == 4
