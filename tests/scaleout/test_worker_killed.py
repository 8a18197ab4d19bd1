"""A Celery worker SIGKILLed in the middle of a candidate-proposal chunk: another worker redoes it,
and in the end every image has exactly one prediction per model (real Redis, real PostgreSQL)."""

import os
import signal

import psycopg
import pytest
import redis

from tests.requirements import copy_samples, require_models, require_redis
from tests.scaleout.services import app_env, manage, start_worker, stop_process, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.models, pytest.mark.samples]
REDIS_DB = 13
IMAGES = 8
MODEL = "efficientnet_lite0"


@pytest.fixture
def proposal_env(tmp_path, fresh_database):
    require_models()
    broker = require_redis().rsplit("/", 1)[0] + f"/{REDIS_DB}"
    redis.Redis.from_url(broker).flushdb()
    images = copy_samples(tmp_path / "images", start=7, step=80, count=IMAGES)
    env = app_env(tmp_path, fresh_database.url, broker, CELERY_VISIBILITY_TIMEOUT="8",
                  RELABEL_CHUNK_LEASE_SECONDS="6", RELABEL_LOADER_WORKERS="0", RELABEL_INFERENCE_DEVICE="cpu")
    manage(env, "migrate", "-v0")
    manage(env, "load_taxonomy")
    manage(env, "import_images", "--dataset", "killed", str(images), "--no-progress")
    yield env
    redis.Redis.from_url(broker).flushdb()


def chunks(database_url: str) -> list[tuple]:
    with psycopg.connect(database_url) as conn:
        return conn.execute(
            "SELECT id, status, claimed_by, attempts FROM models_zoo_inferencechunk ORDER BY id"
        ).fetchall()


def test_a_chunk_whose_worker_was_killed_is_redone_by_another(proposal_env, fresh_database, tmp_path):
    manage(proposal_env, "propose_candidates", "--dataset", "killed", "--models", MODEL, "--chunk-size", "4",
           "--no-wait", "--no-progress")
    doomed = start_worker(proposal_env, "doomed", tmp_path / "doomed.log")
    victim = wait_for(
        lambda: next((c for c in chunks(fresh_database.url) if c[1] == "running" and c[2].startswith("doomed@")), None),
        120, "the first worker to claim a chunk",
    )
    os.killpg(doomed.pid, signal.SIGKILL)
    doomed.wait(timeout=10)
    survivor = start_worker(proposal_env, "survivor", tmp_path / "survivor.log")
    try:
        wait_for(lambda: all(c[1] == "done" for c in chunks(fresh_database.url)), 240, "every chunk to be done")
    finally:
        stop_process(survivor)

    redone = next(c for c in chunks(fresh_database.url) if c[0] == victim[0])
    assert redone[2].startswith("survivor@") and redone[3] >= 2
    with psycopg.connect(fresh_database.url) as conn:
        total, distinct = conn.execute(
            "SELECT COUNT(*), COUNT(DISTINCT (image_id, model_name)) FROM models_zoo_prediction"
        ).fetchone()
        images = conn.execute("SELECT COUNT(*) FROM annotation_image").fetchone()[0]
    assert total == distinct == images == IMAGES
