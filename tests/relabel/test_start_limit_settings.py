"""The start-limit settings (issue 19): bad values stop the process at start-up; CACHE_URL shares the counts."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
READ = ("import json, relabel.settings as s; "
        "print(json.dumps([s.CACHES['default']['BACKEND'], s.RELABEL_STARTS_PER_CLIENT]))")


def _settings(**env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", READ], cwd=ROOT, env={**os.environ, **env}, capture_output=True,
                          text=True, timeout=60)


@pytest.mark.parametrize("name", ["RELABEL_STARTS_PER_CLIENT", "RELABEL_START_WINDOW_SECONDS",
                                  "RELABEL_LOCAL_MAX_OPEN_ASSIGNMENTS"])
def test_it_refuses_to_start_with_a_limit_below_one(name):
    done = _settings(**{name: "0"})
    assert done.returncode != 0 and f"{name}=0 must be at least 1" in done.stderr


def test_it_keeps_the_counts_in_redis_when_cache_url_is_set():
    done = _settings(CACHE_URL="redis://127.0.0.1:6379/3", RELABEL_STARTS_PER_CLIENT="7")
    assert json.loads(done.stdout) == ["django.core.cache.backends.redis.RedisCache", 7]
