"""Two real `celery worker` processes on a real Redis broker share one dataset's chunks.

The workers and the command run as subprocesses against a file SQLite database; one chunk is left
claimed by a worker that "died" (expired lease) and must be redone by a live worker.
"""

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

from tests.requirements import copy_samples, require_models, require_redis

ROOT = Path(__file__).resolve().parents[2]
REDIS_DB = 3
IMAGES = 16
MODEL = "efficientnet_lite0"  # one model keeps the test fast; the ensemble path is the same

pytestmark = [pytest.mark.redis, pytest.mark.models, pytest.mark.samples]


def _manage(env: dict, *args: str, timeout: int = 300) -> str:
    result = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=timeout)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def _start_worker(env: dict, name: str, log: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "celery", "-A", "relabel", "worker", "-Q", "inference", "--pool", "solo",
               "-n", f"{name}@%h", "--without-gossip", "--without-mingle", "-l", "info"]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
                            start_new_session=True)


def _wait_ready(logs: list[Path], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all("ready." in log.read_text() for log in logs):
            return
        time.sleep(0.5)
    pytest.fail("celery workers did not start:\n" + "\n".join(log.read_text()[-2000:] for log in logs))


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


@pytest.fixture
def environment(tmp_path):
    require_models()
    broker = require_redis().rsplit("/", 1)[0] + f"/{REDIS_DB}"
    redis.Redis.from_url(broker).flushdb()
    images = copy_samples(tmp_path / "images", start=3, step=50, count=IMAGES)
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "CELERY_BROKER_URL": broker,
        "RELABEL_VAR_DIR": str(tmp_path / "var"),
        "MEDIA_ROOT": str(tmp_path / "media"),
        "RELABEL_LOADER_WORKERS": "0",
        "RELABEL_INFERENCE_DEVICE": "cpu",
    }
    _manage(env, "migrate", "-v0")
    _manage(env, "load_taxonomy")
    _manage(env, "import_images", "--dataset", "workers", str(images), "--no-progress")
    yield env, tmp_path
    redis.Redis.from_url(broker).flushdb()


def test_it_finishes_a_dataset_with_two_workers_without_loss_or_duplicates(environment):
    env, tmp_path = environment
    propose = ["propose_candidates", "--dataset", "workers", "--models", MODEL, "--chunk-size", "2", "--no-progress"]
    _manage(env, *propose, "--no-wait")
    db = sqlite3.connect(tmp_path / "db.sqlite3", timeout=30)
    dead = db.execute("SELECT id FROM models_zoo_inferencechunk ORDER BY id LIMIT 1").fetchone()[0]
    with db:
        db.execute("UPDATE models_zoo_inferencechunk SET status='running', claimed_by='dead@host', "
                   "claim_token='dead', attempts=1, lease_until='2000-01-01 00:00:00' WHERE id=?", (dead,))
    logs = [tmp_path / "w1.log", tmp_path / "w2.log"]
    workers = [_start_worker(env, f"w{n}", log) for n, log in enumerate(logs, start=1)]
    try:
        _wait_ready(logs)
        out = _manage(env, *propose)
    finally:
        for worker in workers:
            _stop(worker)
    assert "original label proposed by a model for" in out

    chunks = db.execute("SELECT id, status, claimed_by, attempts, image_ids FROM models_zoo_inferencechunk").fetchall()
    assert len(chunks) == IMAGES // 2 and {status for _, status, _, _, _ in chunks} == {"done"}
    assert {claimed.split("@")[0] for _, _, claimed, _, _ in chunks} == {"w1", "w2"}
    redone = next(chunk for chunk in chunks if chunk[0] == dead)
    assert redone[2].startswith("w") and redone[3] == 2
    count, distinct = db.execute(
        "SELECT COUNT(*), COUNT(DISTINCT image_id || model_name) FROM models_zoo_prediction"
    ).fetchone()
    assert count == distinct == IMAGES
    originals = db.execute(
        "SELECT COUNT(DISTINCT image_id) FROM annotation_candidatelabel WHERE is_original"
    ).fetchone()[0]
    assert originals == IMAGES
    assert db.execute("SELECT COUNT(*) FROM models_zoo_imagefeature").fetchone()[0] == IMAGES
