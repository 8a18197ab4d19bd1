"""Real service processes for the scale-out fault tests: private Redis and PostgreSQL instances,
fresh databases on the shared PostgreSQL, gunicorn and celery worker subprocesses.

Private instances let a test restart "the broker" or "the database" without disturbing anything
else that uses the machine's shared servers.
"""

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import psycopg
import pytest

from tests.requirements import free_port, require, require_postgres, require_redis

ROOT = Path(__file__).resolve().parents[2]
PG_BIN = next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin"))), None)
# Load from one test process stands for many workers: lift the per-address and per-worker start limits.
UNLIMITED_STARTS = {"RELABEL_STARTS_PER_CLIENT": "1000000", "RELABEL_STARTS_PER_WORKER": "1000000"}


def wait_for(condition, timeout: float, what: str, interval: float = 0.25):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")


def stop_process(process: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


class PrivateRedis:
    """A redis-server of our own on a free loopback port, without persistence (a restart loses its queues)."""

    def __init__(self, tmp: Path) -> None:
        require_redis()
        require(shutil.which("redis-server") is not None, "redis-server is not installed")
        self.port = free_port()
        self.tmp = tmp
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                   "--appendonly", "no", "--dir", str(self.tmp)]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, start_new_session=True)
        wait_for(lambda: _port_open(self.port), 20, "redis to accept connections")

    def stop(self) -> None:
        if self.process:
            stop_process(self.process, signal.SIGKILL)


class PrivatePostgres:
    """A PostgreSQL cluster of our own (initdb in a temporary folder), which a test may restart."""

    def __init__(self) -> None:
        require_postgres()
        require(PG_BIN is not None, "PostgreSQL server binaries not found under /usr/lib/postgresql")
        self.port = free_port()
        # Not under pytest's tmp_path: the postgres user must be able to reach the folder.
        self.tmp = Path(tempfile.mkdtemp(prefix="relabel-pg-"))
        self.data = self.tmp / "pgdata"
        self.log = self.tmp / "postgres.log"

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *command: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        result = subprocess.run([*prefix, *command], capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, f"{command[0]} failed: {result.stdout}{result.stderr}"

    def init(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.tmp, "postgres")
        self._run(str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        self.start()

    def start(self) -> None:
        options = f"-p {self.port} -k {self.tmp} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def remove(self) -> None:
        with contextlib.suppress(AssertionError):
            self.stop("immediate")
        shutil.rmtree(self.tmp, ignore_errors=True)


class FreshDatabase:
    """A new database on the shared PostgreSQL server, dropped afterwards."""

    def __init__(self, server_url: str | None = None) -> None:
        self.server_url = server_url or require_postgres()
        self.name = f"relabel_fault_{secrets.token_hex(4)}"

    @property
    def url(self) -> str:
        return self.server_url.rsplit("/", 1)[0] + f"/{self.name}"

    def create(self) -> None:
        with psycopg.connect(self.server_url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {self.name}")

    def drop(self) -> None:
        with contextlib.suppress(psycopg.Error), psycopg.connect(
            self.server_url.rsplit("/", 1)[0] + "/postgres", autocommit=True
        ) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")


def app_env(tmp: Path, database_url: str, broker_url: str = "", **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": broker_url,
        "RELABEL_VAR_DIR": str(tmp / "var"),
        "MEDIA_ROOT": str(tmp / "media"),
        "DEBUG": "1",
        "ALLOWED_HOSTS": "127.0.0.1",
        **extra,
    }


def manage(env: dict[str, str], *args: str, timeout: int = 300) -> str:
    result = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=timeout)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


def build_scenario(env: dict[str, str], **options: int) -> dict:
    """Run tests/scaleout/scenario.py in the app's environment; returns what it printed (JSON)."""
    args = [f"--{name.replace('_', '-')}={value}" for name, value in options.items()]
    result = subprocess.run([sys.executable, str(ROOT / "tests/scaleout/scenario.py"), *args], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def start_gunicorn(env: dict[str, str], port: int, log: Path, workers: int = 1) -> subprocess.Popen:
    command = [sys.executable, "-m", "gunicorn", "relabel.wsgi:application", "--bind", f"127.0.0.1:{port}",
               "--workers", str(workers), "--timeout", "30", "--graceful-timeout", "5"]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
                               start_new_session=True)
    _wait_or_stop(process, lambda: _healthy(port), 60, f"gunicorn on port {port} (log: {log})")
    return process


def start_worker(env: dict[str, str], name: str, log: Path, queues: str = "inference") -> subprocess.Popen:
    command = [sys.executable, "-m", "celery", "-A", "relabel", "worker", "-Q", queues, "--pool", "solo",
               "-n", f"{name}@%h", "--without-gossip", "--without-mingle", "-l", "info"]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
                               start_new_session=True)
    _wait_or_stop(process, lambda: "ready." in log.read_text(), 120, f"celery worker {name} (log: {log})")
    return process


def _wait_or_stop(process: subprocess.Popen, condition, timeout: float, what: str) -> None:
    """Wait until the process is ready; one that never gets ready is stopped, not left running after the test."""
    try:
        wait_for(condition, timeout, what)
    except BaseException:
        stop_process(process, signal.SIGKILL)
        raise


def http(method: str, url: str, body: dict | None = None, timeout: float = 30) -> tuple[int, dict | str]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, _decode(response.read(), response.headers.get_content_type())
    except urllib.error.HTTPError as exc:
        return exc.code, _decode(exc.read(), exc.headers.get_content_type())


def _decode(raw: bytes, content_type: str) -> dict | str:
    return json.loads(raw) if content_type == "application/json" else raw.decode(errors="replace")


def _port_open(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
        return True
    return False


def _healthy(port: int) -> bool:
    with contextlib.suppress(OSError):
        return http("GET", f"http://127.0.0.1:{port}/healthz", timeout=2)[0] == 200
    return False
