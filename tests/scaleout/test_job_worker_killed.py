"""A dashboard candidates job whose inference worker is SIGKILLed still finishes, with ONE default worker and a
1-hour broker visibility timeout: no worker blocks while the job waits, so beat's watch_jobs queues the lost
chunk again and finishes the job (real Redis, real PostgreSQL, real Celery worker and beat processes).

Before, the job held the only default worker while it polled its chunks, the recovery task queued behind
it on the same queue, and the job hung until the broker redelivered the chunk an hour later.
"""

import os
import signal
import subprocess
import sys

import psycopg
import pytest
import redis

from tests.requirements import copy_samples, require_models, require_redis
from tests.scaleout.services import ROOT, app_env, manage, start_worker, stop_process, wait_for
from tests.scaleout.test_worker_killed import chunks

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.models, pytest.mark.samples]
IMAGES = 8


@pytest.fixture
def job_env(tmp_path, fresh_database):
    require_models()
    broker = require_redis()  # its own Redis database (TEST_REDIS_URL), flushed
    redis.Redis.from_url(broker).flushdb()
    images = copy_samples(tmp_path / "images", start=11, step=80, count=IMAGES)
    env = app_env(tmp_path, fresh_database.url, broker, CELERY_VISIBILITY_TIMEOUT="3600",
                  RELABEL_CHUNK_LEASE_SECONDS="6", RELABEL_JOB_WATCH_SECONDS="2", RELABEL_CHUNK_SIZE="4",
                  RELABEL_LOADER_WORKERS="0", RELABEL_INFERENCE_DEVICE="cpu")
    manage(env, "migrate", "-v0")
    manage(env, "load_taxonomy")
    manage(env, "import_images", "--dataset", "job-killed", str(images), "--no-progress")
    yield env
    redis.Redis.from_url(broker).flushdb()


def _start_beat(env: dict[str, str], tmp_path) -> subprocess.Popen:
    log = tmp_path / "beat.log"
    return subprocess.Popen([sys.executable, "-m", "celery", "-A", "relabel", "beat", "-l", "info",
                             "-s", str(tmp_path / "beat-schedule")], cwd=ROOT, env=env, stdout=log.open("w"),
                            stderr=subprocess.STDOUT, start_new_session=True)


def _job(database_url: str) -> tuple:
    with psycopg.connect(database_url) as conn:
        return conn.execute("SELECT status, message FROM analytics_jobrun ORDER BY id DESC LIMIT 1").fetchone()


def test_a_candidates_job_finishes_after_its_inference_worker_is_killed(job_env, fresh_database, tmp_path):
    default = start_worker(job_env, "default", tmp_path / "default.log", queues="default")
    beat = _start_beat(job_env, tmp_path)
    doomed = start_worker(job_env, "doomed", tmp_path / "doomed.log")
    survivor = None
    try:
        manage(job_env, "shell", "-c", "from analytics import jobs; from annotation.models import Dataset; "
                                       "jobs.start_job(Dataset.objects.get(name='job-killed'), 'candidates', None)")
        wait_for(lambda: next((c for c in chunks(fresh_database.url)
                               if c[1] == "running" and c[2].startswith("doomed@")), None),
                 120, "the first inference worker to claim a chunk")
        os.killpg(doomed.pid, signal.SIGKILL)
        doomed.wait(timeout=10)
        survivor = start_worker(job_env, "survivor", tmp_path / "survivor.log")
        status, message = wait_for(lambda: (job := _job(fresh_database.url))[0] in ("done", "failed") and job,
                                   300, "the job to finish (it hung for the broker's visibility timeout before)")
    finally:
        for process in (survivor, beat, default):
            if process is not None:
                stop_process(process)
    assert status == "done", message
    assert message.startswith(f"{IMAGES}/{IMAGES} images have candidates")
    assert all(c[1] == "done" for c in chunks(fresh_database.url))
