"""Load benchmark: simulated annotators against gunicorn on loopback (PostgreSQL).

Each simulated annotator works like a browser on MTurk: every PERIOD seconds it opens a HIT page with
MTurk's parameters (accepting the assignment), fetches the page's stylesheet and scripts the first time
it sees them (a browser caches those: their names carry a content hash), fetches all of the page's
images over at most six keep-alive connections, as a browser does, and posts its answers with the
page's token. Steps of increasing concurrency report page, image and submit latency percentiles (from
sending the request to the last byte, connecting included) and the time to a loaded HIT (page and all
its images); afterwards the database rows are counted against the submissions that got a 200, so lost
or duplicated submissions would show.

The web is gunicorn with the deployed settings (relabel/gunicorn_conf.py; --web-workers, --threads,
--keep-alive override them as WEB_* variables). The client is a small asyncio HTTP/1.1 client rather
than aiohttp: it runs on the same cores as the server, and costs half as much CPU per request.

    .venv/bin/python bench/bench_load.py [--steps 100,250,500,750,1000] [--duration 60] [--period 30]

Needs PostgreSQL on 127.0.0.1:5432 (database relabel_load, or $BENCH_LOAD_DATABASE, is dropped and re-created;
--reuse keeps the one a previous run with --keep left, with its media directory) and the ImageNet samples
(RELABEL_SAMPLES_DIR). Prints a markdown table for docs/benchmarks.md.

--next-hit-probe adds a real browser to each step: once the simulated annotators have ramped up (one
--period), bench/bench_next_hit.py --origin drives Chromium as a local annotator through a local batch of
CONTAINS HITs (48 of the imported images each, a fresh account per step) and reports its next-HIT times
("ready": submit click to the next HIT's first screen painted and usable) in the table; it starts no step
after the annotators stop. Give the steps time for it: --duration of at least --period + 40 s. --code runs
gunicorn from another checkout (e.g. a `git worktree` of the code before a change; its static files are
collected first); given more than once, the checkouts take turns, --rounds times, on the same database, with
--settle seconds between two runs:

    .venv/bin/python bench/bench_load.py --steps 1000 --duration 90 --next-hit-probe --code ../base --code .

--proxy on puts nginx (Debian's nginx-light) in front of gunicorn with the config `manage.py nginx_config` writes:
nginx answers the images, gunicorn the rest (annotation/media_proxy.py); --proxy both runs each checkout without
it and then with it.
"""

import argparse
import asyncio
import json
import os
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DB_NAME = os.environ.get("BENCH_LOAD_DATABASE", "relabel_load")  # dropped and re-created
PG_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
CONTAINS_GRID = 48
CLASSIFY_PER_HIT = 3
HITS_PER_KIND = 2000
BROWSER_CONNECTIONS = 6
SANDBOX = "https://workersandbox.mturk.com"
CONFIG_RE = re.compile(r'<script id="hit-config" type="application/json">(.*?)</script>', re.S)
IMG_RE = re.compile(r'<img[^>]+src="(/media/[^"]+)"')
ASSET_RE = re.compile(r'<(?:script[^>]+src|link[^>]+href)="(/static/[^"]+)"')
STATE_FILE = f"bench-load-state-{DB_NAME}.json"
PROBE_HITS = 11  # HITs the browser walks through in a step: 10 next-HIT steps
PROBE_PASSWORD = "bench-probe-password-123"
PROBE_BATCH = "load: browser probe"
NEXT_HIT_BENCH = Path(__file__).resolve().parent / "bench_next_hit.py"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_env(tmp: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{DB_NAME}",
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(60),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "SECURE_HSTS_SECONDS": "0",
        # The browser probe logs in over plain HTTP on 127.0.0.1.
        "SESSION_COOKIE_SECURE": "0",
        "CSRF_COOKIE_SECURE": "0",
        "DB_CONN_MAX_AGE": "60",
        "STATIC_ROOT": str(tmp / "static"),
        "MEDIA_ROOT": str(tmp / "media"),
        "RELABEL_VAR_DIR": str(tmp / "var"),
        # Every simulated worker comes from this one machine: lift the per-address and per-worker start limits.
        "RELABEL_STARTS_PER_CLIENT": "1000000",
        "RELABEL_STARTS_PER_WORKER": "1000000",
    }


def recreate_database() -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB_NAME}")


def manage(env: dict[str, str], *args: str, code: Path = ROOT) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=code, env=env, check=True, stdout=subprocess.DEVNULL)


def setup_django(env: dict[str, str]) -> None:
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "relabel.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def build_hits() -> None:
    """Published CONTAINS and CLASSIFY HITs over the imported samples (rows built directly)."""
    from annotation.models import Dataset, Image
    from tasks.models import Batch, Hit, HitItem, Provider, TaskKind

    rng = random.Random(0)
    dataset = Dataset.objects.get(name="load")
    images = list(Image.objects.filter(dataset=dataset).values_list("id", "original_label__index"))
    for kind, per_hit in ((TaskKind.CONTAINS, CONTAINS_GRID), (TaskKind.CLASSIFY, CLASSIFY_PER_HIT)):
        batch = Batch.objects.create(
            dataset=dataset, kind=kind, provider=Provider.MTURK_SANDBOX, reward="0.10",
            assignments_per_hit=9, status=Batch.Status.PUBLISHED, name=f"load {kind}",
        )
        labels = {index for _, index in images}
        hits = Hit.objects.bulk_create(
            Hit(batch=batch, status=Hit.Status.PUBLISHED, provider_hit_id=f"LOAD{kind}{n}",
                label_id=None) for n in range(HITS_PER_KIND)
        )
        items = []
        for hit in hits:
            for position, (image_id, original) in enumerate(rng.sample(images, per_hit)):
                offered = [original, *rng.sample(sorted(labels - {original}), 2)] if kind == TaskKind.CLASSIFY else []
                items.append(HitItem(hit=hit, image_id=image_id, position=position, labels=offered))
        HitItem.objects.bulk_create(items, batch_size=5000)
        if kind == TaskKind.CONTAINS:
            from annotation.models import LabelClass

            label_ids = list(LabelClass.objects.values_list("id", flat=True))
            for hit in hits:
                hit.label_id = rng.choice(label_ids)
            Hit.objects.bulk_update(hits, ["label"], batch_size=2000)


def build_probe_batch(accounts: list[str]) -> None:
    """The browser probe's work: a local CONTAINS batch of PROBE_HITS HITs of CONTAINS_GRID imported images (no
    image twice, so that no HIT repeats an item for an account), a place on each HIT for every one of
    `accounts`, and those accounts (local annotators)."""
    from django.contrib.auth import get_user_model

    from annotation.models import Dataset, Image, LabelClass
    from tasks.models import Batch, Hit, HitItem, Provider, TaskKind

    # A reused database keeps the probe batches of earlier runs, with places left: close them, so that the probe
    # walks this run's HITs (an account's first HIT comes from the oldest open batch).
    Hit.objects.filter(batch__name=PROBE_BATCH).update(status=Hit.Status.EXPIRED)
    Batch.objects.filter(name=PROBE_BATCH).update(status=Batch.Status.EXPIRED)
    dataset = Dataset.objects.get(name="load")
    pictures = random.Random(0).sample(list(Image.objects.filter(dataset=dataset).values_list("id", flat=True)),
                                       PROBE_HITS * CONTAINS_GRID)
    batch = Batch.objects.create(
        dataset=dataset, kind=TaskKind.CONTAINS, provider=Provider.LOCAL, reward="0",
        assignments_per_hit=len(accounts), status=Batch.Status.PUBLISHED, name=PROBE_BATCH,
    )
    label = LabelClass.objects.order_by("index").first()
    hits = Hit.objects.bulk_create(
        Hit(batch=batch, label=label, status=Hit.Status.PUBLISHED) for _ in range(PROBE_HITS)
    )
    HitItem.objects.bulk_create(
        HitItem(hit=hit, image_id=image_id, position=position)
        for n, hit in enumerate(hits)
        for position, image_id in enumerate(pictures[n * CONTAINS_GRID:(n + 1) * CONTAINS_GRID])
    )
    for name in accounts:
        get_user_model().objects.create_user(name, password=PROBE_PASSWORD)


@dataclass
class Stats:
    page: list[float] = field(default_factory=list)
    image: list[float] = field(default_factory=list)
    asset: list[float] = field(default_factory=list)
    submit: list[float] = field(default_factory=list)
    loaded: list[float] = field(default_factory=list)
    submitted: dict[str, int] = field(default_factory=lambda: {"contains": 0, "classify": 0})
    errors: dict[str, int] = field(default_factory=dict)

    def error(self, what: str) -> None:
        self.errors[what] = self.errors.get(what, 0) + 1


class SlotDealer:
    """Hands out (kind, hit) slots so that no worker meets the same HIT twice and no HIT gets > 9."""

    def __init__(self, hit_ids: dict[str, list[int]]):
        self.hit_ids = hit_ids
        self.counters = {kind: 0 for kind in hit_ids}

    def next(self, kind: str) -> int:
        count = self.counters[kind]
        self.counters[kind] += 1
        return self.hit_ids[kind][count % len(self.hit_ids[kind])]


class HttpError(Exception):
    """A response the client could not read (connection closed, malformed head)."""


@dataclass
class Response:
    status: int
    body: bytes


@dataclass
class Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    idle_since: float = 0.0


class Browser:
    """One annotator's browser: HTTP/1.1 over at most six keep-alive connections, like a real one.

    An idle connection is reused only while younger than the server's keep-alive (less a second), so
    the client never writes on a connection the server is closing. Static assets are cached by name.
    """

    def __init__(self, port: int, keepalive: float) -> None:
        self.port = port
        self.reuse_for = max(0.0, keepalive - 1.0)
        self.slots = asyncio.Semaphore(BROWSER_CONNECTIONS)
        self.idle: list[Connection] = []
        self.cached: set[str] = set()

    async def request(self, method: str, path: str, body: bytes = b"") -> tuple[Response, float]:
        """(response, seconds from sending, or connecting, to the last byte); waits for a free connection."""
        async with self.slots:
            started = time.perf_counter()
            connection = self._idle_connection(started) or await self._connect()
            head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: relabel-bench\r\n"
            if body:
                head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            connection.writer.write(head.encode() + b"\r\n" + body)
            try:
                response, keep = await _read_response(connection.reader)
            except (asyncio.IncompleteReadError, ConnectionError, ValueError) as exc:
                connection.writer.close()
                raise HttpError(type(exc).__name__) from exc
            finished = time.perf_counter()
            if keep:
                connection.idle_since = finished
                self.idle.append(connection)
            else:
                connection.writer.close()
            return response, finished - started

    def _idle_connection(self, now: float) -> Connection | None:
        while self.idle:
            connection = self.idle.pop()
            if now - connection.idle_since < self.reuse_for:
                return connection
            connection.writer.close()
        return None

    async def _connect(self) -> Connection:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        except OSError as exc:
            raise HttpError(type(exc).__name__) from exc
        return Connection(reader, writer)

    def close(self) -> None:
        for connection in self.idle:
            connection.writer.close()
        self.idle.clear()


async def _read_response(reader: asyncio.StreamReader) -> tuple[Response, bool]:
    """The response and whether the connection stays open (Content-Length or chunked bodies)."""
    lines = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    if "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        body = await _read_chunked(reader)
    elif status in (204, 304):
        body = b""
    else:
        body = await reader.read()
        return Response(status, body), False
    return Response(status, body), headers.get("connection", "").lower() != "close"


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts = []
    while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
        parts.append(await reader.readexactly(size + 2))
    await reader.readuntil(b"\r\n")
    return b"".join(part[:-2] for part in parts)


async def timed(browser: Browser, samples: list[float], method: str, path: str, body: bytes = b"") -> Response:
    response, seconds = await browser.request(method, path, body)
    samples.append(seconds)
    return response


async def annotator(port: int, keepalive: float, worker: int, dealer: SlotDealer, stats: Stats, period: float,
                    stop_at: float, run_tag: str) -> None:
    """One simulated annotator: a HIT every `period` seconds, CONTAINS and CLASSIFY in turn (half start with each)."""
    await asyncio.sleep(random.uniform(0, period))
    browser = Browser(port, keepalive)
    turn = worker % 2
    while time.perf_counter() < stop_at:
        started = time.perf_counter()
        kind = ("contains", "classify")[turn % 2]
        turn += 1
        try:
            await one_hit(browser, kind, dealer.next(kind), f"{run_tag}W{worker:05d}", stats)
        except (HttpError, TimeoutError) as exc:
            stats.error(str(exc))
        now = time.perf_counter()
        await asyncio.sleep(max(0.0, min(period - (now - started), stop_at - now)))
    browser.close()


async def one_hit(browser: Browser, kind: str, hit_id: int, worker: str, stats: Stats) -> None:
    assignment = f"{worker}H{hit_id}"
    query = f"assignmentId={assignment}&hitId=LOAD{hit_id}&workerId={worker}&turkSubmitTo={SANDBOX}"
    started = time.perf_counter()
    page = await timed(browser, stats.page, "GET", f"/hit/{hit_id}/?{query}")
    if page.status != 200:
        stats.error(f"page {page.status}")
        return
    html = page.body.decode()
    config = json.loads(CONFIG_RE.search(html).group(1))
    assets = [src for src in ASSET_RE.findall(html) if src not in browser.cached]
    fetched = await asyncio.gather(
        *(timed(browser, stats.asset, "GET", src) for src in assets),
        *(timed(browser, stats.image, "GET", src) for src in IMG_RE.findall(html)),
    )
    stats.loaded.append(time.perf_counter() - started)
    for response in fetched:
        if response.status != 200:
            stats.error(f"file {response.status}")
    browser.cached.update(assets)
    payload = json.dumps({"token": config["token"], **answers(kind, html)}).encode()
    response = await timed(browser, stats.submit, "POST", f"/hit/{hit_id}/submit/", payload)
    if response.status == 200:
        stats.submitted[kind] += 1
    else:
        stats.error(f"submit {response.status}")


def answers(kind: str, html: str) -> dict:
    if kind == "contains":
        ids = [int(x) for x in re.findall(r'data-image="(\d+)"', html)]
        return {"selected": [i for i in ids if random.random() < 0.3]}
    offered: dict[int, list[int]] = {}
    for image, label in re.findall(r'id="v-(\d+)-(\d+)"', html):
        offered.setdefault(int(image), []).append(int(label))
    result = []
    for image, labels in offered.items():
        chosen = labels[: random.randint(1, len(labels))]
        result.append({"image": image, "selected": chosen, "main": chosen[0]})
    return {"answers": result}


def percentiles(values: list[float]) -> str:
    if not values:
        return "-"
    p50, p95, p99 = np.percentile(np.array(values) * 1000, [50, 95, 99])
    return f"{p50:.0f} / {p95:.0f} / {p99:.0f}"


class CpuMeter:
    """Cores' seconds used by the web (gunicorn and its workers; nginx's too with --proxy), PostgreSQL, this
    client, the browser probe and the whole machine between readings.

    Each group's total includes the time of its exited children (`cutime`/`cstime` of the parent that reaped
    them: PostgreSQL's postmaster, gunicorn's master), so backends that close within a step still count. The
    browser probe (bench_next_hit.py, its Playwright driver and Chromium) counts once the step has reaped it.
    "machine" is every busy core from /proc/stat, others' processes included: how close the step ran to the two cores.
    """

    def __init__(self, server_pids: list[int]) -> None:
        self.server_pids = server_pids
        self.start = self.read()

    def read(self) -> dict[str, float]:
        return {
            "web": _cpu_seconds([pid for parent in self.server_pids for pid in (parent, *_pgrep("-P", str(parent)))]),
            "db": _cpu_seconds(_pgrep("-u", "postgres")),
            "client": time.process_time(),
            "browser": _reaped_children_cpu_seconds(),
            "machine": _busy_cpu_seconds(),
        }

    def used(self) -> dict[str, float]:
        """Seconds per group since the last call."""
        now = self.read()
        used = {group: now[group] - self.start[group] for group in now}
        self.start = now
        return used


def _reaped_children_cpu_seconds() -> float:
    times = os.times()
    return times.children_user + times.children_system


def _busy_cpu_seconds() -> float:
    """Seconds of every core not idle nor waiting on I/O since boot (/proc/stat's first line)."""
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, Path("/proc/stat").read_text().split()[1:9])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _pgrep(*args: str) -> list[int]:
    return [int(pid) for pid in subprocess.run(["pgrep", *args], capture_output=True, text=True).stdout.split()]


def _cpu_seconds(pids: list[int]) -> float:
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += sum(int(value) for value in fields[11:15])
    return ticks / os.sysconf("SC_CLK_TCK")


@dataclass
class Probe:
    """The browser's next-HIT steps (bench_next_hit's JSON): those it started while the annotators ran."""

    steps: list[dict] = field(default_factory=list)
    error: str = ""


async def run_step(port: int, keepalive: float, users: int, duration: float, period: float, dealer: SlotDealer,
                   run_tag: str, probe_account: str | None) -> tuple[Stats, Probe | None]:
    stats = Stats()
    stop_at = time.perf_counter() + duration
    results = await asyncio.gather(
        browser_probe(port, probe_account, period, stop_at) if probe_account else asyncio.sleep(0),
        *(annotator(port, keepalive, n, dealer, stats, period, stop_at, run_tag) for n in range(users)),
    )
    return stats, results[0]


async def browser_probe(port: int, account: str, ramp: float, stop_at: float) -> Probe:
    """Once the annotators have ramped up, bench_next_hit.py --origin walks a local batch in Chromium as `account`,
    starting no step after the annotators stop."""
    await asyncio.sleep(ramp)
    until = time.time() + (stop_at - time.perf_counter())
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(NEXT_HIT_BENCH), "--origin", f"http://127.0.0.1:{port}", "--user", account,
        "--password", PROBE_PASSWORD, "--hits", str(PROBE_HITS), "--until", str(until), "--json",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    if process.returncode:
        lines = err.decode(errors="replace").strip().splitlines()
        return Probe(error=lines[-1] if lines else f"exit status {process.returncode}")
    (steps,) = json.loads(out).values()
    return Probe(steps=steps)


def count_rows() -> dict[str, int]:
    from annotation.models import ClassifyResponse, ContainsJudgment
    from tasks.models import Assignment

    # The browser probe's local batch is not part of the simulated annotators' work.
    submitted = Assignment.objects.exclude(status=Assignment.Status.ACCEPTED).exclude(hit__batch__provider="local")
    return {
        "contains_assignments": submitted.filter(hit__batch__kind="contains").count(),
        "classify_assignments": submitted.filter(hit__batch__kind="classify").count(),
        "judgments": ContainsJudgment.objects.exclude(assignment__hit__batch__provider="local").count(),
        "classify_responses": ClassifyResponse.objects.count(),
    }


def prepare(args: argparse.Namespace) -> Path:
    """The media directory of a filled database: a fresh one, or the one a --keep run left (--reuse)."""
    state = Path(tempfile.gettempdir()) / STATE_FILE
    if args.reuse:
        tmp = Path(json.loads(state.read_text())["dir"])
        setup_django(server_env(tmp))
        return tmp
    samples = Path(os.environ.get("RELABEL_SAMPLES_DIR", ROOT.parent / "shared/datasets/imagenet-samples"))
    tmp = Path(tempfile.mkdtemp(prefix="relabel-load-"))
    env = server_env(tmp)
    recreate_database()
    manage(env, "migrate", "--noinput")
    manage(env, "load_taxonomy")
    manage(env, "import_images", "--dataset", "load", str(samples), "--no-progress")
    setup_django(env)
    build_hits()
    if args.keep:
        state.write_text(json.dumps({"dir": str(tmp)}))
    return tmp


def start_server(env: dict[str, str], args: argparse.Namespace, port: int, code: Path) -> subprocess.Popen:
    """gunicorn from the checkout `code` with the deployed settings (relabel/gunicorn_conf.py), its static files
    collected first; returns once it answers."""
    manage(env, "collectstatic", "--noinput", "--clear", code=code)
    env = {**env, "WEB_BIND": f"127.0.0.1:{port}", "WEB_LOG_LEVEL": "warning"}
    overrides = {"WEB_WORKERS": args.web_workers, "WEB_THREADS": args.threads, "WEB_KEEPALIVE": args.keep_alive}
    env.update({name: str(value) for name, value in overrides.items() if value is not None})
    command = [sys.executable, "-m", "gunicorn", "-c", "python:relabel.gunicorn_conf"]
    server = subprocess.Popen(command, cwd=code, env=env)
    return answering(server, port, 60, "gunicorn")


def answering(process: subprocess.Popen, port: int, seconds: float, name: str) -> subprocess.Popen:
    """`process` once it accepts connections on `port`; killed, and the run stopped, after `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit(f"{name} did not start within {seconds:.0f} s")


@dataclass
class Proxy:
    process: subprocess.Popen
    port: int


def start_proxy(env: dict[str, str], upstream_port: int, tmp: Path) -> Proxy:
    """nginx with the config `manage.py nginx_config` writes for these settings, in front of gunicorn."""
    folder = tmp / "nginx"
    folder.mkdir(exist_ok=True)
    port, config = free_port(), folder / "nginx.conf"
    manage(env, "nginx_config", "--upstream", f"127.0.0.1:{upstream_port}", "--listen", f"127.0.0.1:{port}",
           "--output", str(config), "--pid", str(folder / "pid"), "--temp-dir", str(folder),
           *(["--user", "root"] if os.geteuid() == 0 else []))
    process = subprocess.Popen(["nginx", "-c", str(config), "-p", str(folder), "-g", "daemon off;"])
    return Proxy(answering(process, port, 30, "nginx"), port)


TABLE_HEAD = (
    "| annotators | pages/s | requests/s | page p50/p95/p99 ms | image p50/p95/p99 ms | submit p50/p95/p99 ms "
    "| HIT loaded p50/p95/p99 ms | submitted | errors | CPU web / db / client / browser / machine "
    "| next HIT ready (browser) p50 / p90 / max ms (medians from the click) |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|"
)


def probe_cell(probe: Probe | None) -> str:
    if probe is None:
        return "-"
    if probe.error:
        return f"probe failed: {probe.error}"
    if not probe.steps:
        return "no step started before the annotators stopped"
    ready = [step["ready"] for step in probe.steps]
    p50, p90 = np.percentile(ready, [50, 90])
    answered, html = (np.median([step[name] for step in probe.steps]) for name in ("submitted", "html"))
    in_place = sum(step["load"] is None for step in probe.steps)
    return (f"{p50:.0f} / {p90:.0f} / {max(ready):.0f} (submission answered {answered:.0f}, next HTML {html:.0f}; "
            f"{len(ready)} steps, {in_place} in place)")


def report_step(users: int, stats: Stats, duration: float, cpu: dict[str, float], probe: Probe | None) -> None:
    requests = len(stats.page) + len(stats.image) + len(stats.asset) + len(stats.submit)
    load = " / ".join(f"{seconds / duration:.2f}" for seconds in cpu.values())
    print(f"| {users} | {len(stats.page) / duration:.1f} | {requests / duration:.0f} | {percentiles(stats.page)} | "
          f"{percentiles(stats.image)} | {percentiles(stats.submit)} | {percentiles(stats.loaded)} | "
          f"{sum(stats.submitted.values())} | {stats.errors or 0} | {load} | {probe_cell(probe)} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", default="100,250,500,750,1000")
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--period", type=float, default=30)
    parser.add_argument("--web-workers", type=int, help="WEB_WORKERS (default: relabel/gunicorn_conf.py)")
    parser.add_argument("--threads", type=int, help="WEB_THREADS")
    parser.add_argument("--keep-alive", type=int, help="WEB_KEEPALIVE, seconds")
    parser.add_argument("--keep", action="store_true", help="keep the filled database and media for --reuse")
    parser.add_argument("--reuse", action="store_true", help="reuse what the last --keep run filled")
    parser.add_argument("--next-hit-probe", action="store_true",
                        help="measure the next-HIT step from Chromium during each step (bench_next_hit.py)")
    parser.add_argument("--code", type=Path, action="append",
                        help="checkout to run gunicorn from (repeat to compare; default: this one)")
    parser.add_argument("--proxy", choices=("off", "on", "both"), default="off",
                        help="nginx in front of gunicorn, answering the images (manage.py nginx_config); "
                             "both: each run without it, then with it")
    parser.add_argument("--rounds", type=int, default=1, help="runs of each --code, in turn")
    parser.add_argument("--settle", type=float, default=60,
                        help="seconds to wait between two runs, for the previous one's backlog to drain")
    args = parser.parse_args()
    codes = [path.resolve() for path in args.code or [ROOT]]
    steps = [int(n) for n in args.steps.split(",")]
    tmp = prepare(args)
    env = server_env(tmp)
    from django.db import connection

    from relabel import gunicorn_conf
    from tasks.models import Hit

    run_tag = secrets.token_hex(3).upper()
    proxies = {"off": [False], "on": [True], "both": [False, True]}[args.proxy]
    runs = [(round_, code, proxy) for round_ in range(args.rounds) for code in codes for proxy in proxies]
    accounts = {(run, step): f"probe{run_tag}r{run}s{step}" for run in range(len(runs)) for step in range(len(steps))}
    if args.next_hit_probe:
        build_probe_batch(list(accounts.values()))
    with connection.cursor() as cursor:
        # Statistics for the rows just built, as autovacuum gathers them a minute after a bulk load (where it
        # runs: it is off on some test servers). Without them the planner takes the new tables for empty.
        cursor.execute("ANALYZE")
    hit_ids = {kind: list(Hit.objects.filter(batch__kind=kind).exclude(batch__provider="local").order_by("id")
                          .values_list("id", flat=True)) for kind in ("contains", "classify")}
    before = count_rows()
    connection.close()
    keepalive = args.keep_alive if args.keep_alive is not None else gunicorn_conf.keepalive
    totals = {"contains": 0, "classify": 0}
    dealer = SlotDealer(hit_ids)
    for run, (round_, code, with_proxy) in enumerate(runs):
        if run:
            time.sleep(args.settle)
        web = "nginx + gunicorn" if with_proxy else "gunicorn"
        load = " ".join(f"{value:.2f}" for value in os.getloadavg())
        print(f"\n{code}, {web} (round {round_ + 1}), load average {load}:\n{TABLE_HEAD}")
        port = free_port()
        server = start_server(env, args, port, code)
        proxy = start_proxy(env, port, tmp) if with_proxy else None
        if proxy is not None:
            port = proxy.port
        try:
            meter = CpuMeter([server.pid, *([proxy.process.pid] if proxy else [])])
            for step, users in enumerate(steps):
                meter.used()
                stats, probe = asyncio.run(run_step(
                    port, keepalive, users, args.duration, args.period, dealer, f"{run_tag}R{run}S{step}",
                    accounts[run, step] if args.next_hit_probe else None,
                ))
                for kind in totals:
                    totals[kind] += stats.submitted[kind]
                report_step(users, stats, args.duration, meter.used(), probe)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
            if proxy is not None:
                proxy.process.send_signal(signal.SIGQUIT)
                proxy.process.wait(timeout=30)
    check_rows(before, count_rows(), totals)
    if not args.keep and not args.reuse:
        shutil.rmtree(tmp, ignore_errors=True)


def check_rows(before: dict[str, int], after: dict[str, int], totals: dict[str, int]) -> None:
    """Rows written during the run against the submissions that got a 200."""
    expected = {
        "contains_assignments": totals["contains"], "classify_assignments": totals["classify"],
        "judgments": totals["contains"] * CONTAINS_GRID, "classify_responses": totals["classify"] * CLASSIFY_PER_HIT,
    }
    print("\nRows written during the run (expected from the 200 responses):")
    for name, value in expected.items():
        written = after[name] - before[name]
        print(f"- {name}: {written} (expected {value}){'' if written == value else '  MISMATCH'}")


if __name__ == "__main__":
    main()
