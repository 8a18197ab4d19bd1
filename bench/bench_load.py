"""Load benchmark: simulated annotators against gunicorn on loopback (PostgreSQL).

Each simulated annotator works like a browser on MTurk: every PERIOD seconds it opens a HIT page with
MTurk's parameters (accepting the assignment), fetches the page's images (six at a time, as a browser
does), and posts its answers with the page's token. Steps of increasing concurrency report page,
image and submit latency percentiles; afterwards the database rows are counted against the
submissions that got a 200, so lost or duplicated submissions would show.

    .venv/bin/python bench/bench_load.py [--steps 100,250,500,750,1000] [--duration 60] [--period 30]

Needs PostgreSQL on 127.0.0.1:5432 (database relabel_load is dropped and re-created) and the ImageNet
samples (RELABEL_SAMPLES_DIR). Prints a markdown table for docs/benchmarks.md.
"""

import argparse
import asyncio
import json
import os
import random
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DB_NAME = "relabel_load"
PG_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
CONTAINS_GRID = 48
CLASSIFY_PER_HIT = 3
HITS_PER_KIND = 2000
SANDBOX = "https://workersandbox.mturk.com"
CONFIG_RE = re.compile(r'<script id="hit-config" type="application/json">(.*?)</script>', re.S)
IMG_RE = re.compile(r'<img[^>]+src="(/media/[^"]+)"')


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
        "DB_CONN_MAX_AGE": "60",
        "STATIC_ROOT": str(tmp / "static"),
        "MEDIA_ROOT": str(tmp / "media"),
        "RELABEL_VAR_DIR": str(tmp / "var"),
    }


def recreate_database() -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB_NAME}")


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)


def build_hits(env: dict[str, str]) -> None:
    """Published CONTAINS and CLASSIFY HITs over the imported samples (rows built directly)."""
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "relabel.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
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


@dataclass
class Stats:
    page: list[float] = field(default_factory=list)
    image: list[float] = field(default_factory=list)
    submit: list[float] = field(default_factory=list)
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


async def timed(stats_list: list[float], request) -> aiohttp.ClientResponse:
    start = time.perf_counter()
    response = await request
    body = await response.read()
    stats_list.append(time.perf_counter() - start)
    response.body = body
    return response


async def annotator(base: str, worker: str, dealer: SlotDealer, stats: Stats, period: float, stop_at: float) -> None:
    await asyncio.sleep(random.uniform(0, period))
    kinds = ["contains", "classify"]
    turn = 0
    connector = aiohttp.TCPConnector(limit=6, force_close=False)
    async with aiohttp.ClientSession(base, connector=connector) as session:
        while time.perf_counter() < stop_at:
            started = time.perf_counter()
            kind = kinds[turn % 2]
            turn += 1
            try:
                await one_hit(session, kind, dealer.next(kind), worker, stats)
            except (aiohttp.ClientError, TimeoutError) as exc:
                stats.error(type(exc).__name__)
            await asyncio.sleep(max(0.0, period - (time.perf_counter() - started)))


async def one_hit(session: aiohttp.ClientSession, kind: str, hit_id: int, worker: str, stats: Stats) -> None:
    assignment = f"{worker}H{hit_id}"
    params = {"assignmentId": assignment, "hitId": f"LOAD{hit_id}", "workerId": worker, "turkSubmitTo": SANDBOX}
    page = await timed(stats.page, session.get(f"/hit/{hit_id}/", params=params))
    if page.status != 200:
        stats.error(f"page {page.status}")
        return
    html = page.body.decode()
    config = json.loads(CONFIG_RE.search(html).group(1))
    images = IMG_RE.findall(html)
    await asyncio.gather(*(timed(stats.image, session.get(src)) for src in images))
    payload = {"token": config["token"], **answers(kind, html)}
    response = await timed(stats.submit, session.post(f"/hit/{hit_id}/submit/", json=payload))
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


async def run_step(base: str, users: int, duration: float, period: float, dealer: SlotDealer, step: int) -> Stats:
    stats = Stats()
    stop_at = time.perf_counter() + duration
    await asyncio.gather(*(
        annotator(base, f"AL{step}W{n:05d}", dealer, stats, period, stop_at) for n in range(users)
    ))
    return stats


def count_rows(env: dict[str, str]) -> dict[str, int]:
    from annotation.models import ClassifyResponse, ContainsJudgment
    from tasks.models import Assignment

    submitted = Assignment.objects.exclude(status=Assignment.Status.ACCEPTED)
    return {
        "contains_assignments": submitted.filter(hit__batch__kind="contains").count(),
        "classify_assignments": submitted.filter(hit__batch__kind="classify").count(),
        "judgments": ContainsJudgment.objects.count(),
        "classify_responses": ClassifyResponse.objects.count(),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", default="100,250,500,750,1000")
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--period", type=float, default=30)
    parser.add_argument("--web-workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    samples = Path(os.environ.get("RELABEL_SAMPLES_DIR", ROOT.parent / "shared/datasets/imagenet-samples"))
    tmp = Path(tempfile.mkdtemp(prefix="relabel-load-"))
    env = server_env(tmp)
    recreate_database()
    manage(env, "migrate", "--noinput")
    manage(env, "collectstatic", "--noinput")
    manage(env, "load_taxonomy")
    manage(env, "import_images", "--dataset", "load", str(samples), "--no-progress")
    build_hits(env)
    from tasks.models import Hit

    hit_ids = {kind: list(Hit.objects.filter(batch__kind=kind).order_by("id").values_list("id", flat=True))
               for kind in ("contains", "classify")}
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "relabel.wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--workers", str(args.web_workers), "--worker-class", "gthread", "--threads", str(args.threads),
         "--keep-alive", "5", "--log-level", "warning"],
        cwd=ROOT, env=env,
    )
    try:
        time.sleep(4)
        base = f"http://127.0.0.1:{port}"
        dealer = SlotDealer(hit_ids)
        print("| annotators | pages/s | page p50/p95/p99 ms | image p50/p95/p99 ms | submit p50/p95/p99 ms "
              "| submitted | errors |")
        print("|---|---|---|---|---|---|---|")
        totals = {"contains": 0, "classify": 0}
        for step, users in enumerate(int(n) for n in args.steps.split(",")):
            stats = asyncio.run(run_step(base, users, args.duration, args.period, dealer, step))
            for kind in totals:
                totals[kind] += stats.submitted[kind]
            print(f"| {users} | {len(stats.page) / args.duration:.1f} | {percentiles(stats.page)} | "
                  f"{percentiles(stats.image)} | {percentiles(stats.submit)} | "
                  f"{sum(stats.submitted.values())} | {stats.errors or 0} |", flush=True)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    rows = count_rows(env)
    expected = {
        "contains_assignments": totals["contains"], "classify_assignments": totals["classify"],
        "judgments": totals["contains"] * CONTAINS_GRID, "classify_responses": totals["classify"] * CLASSIFY_PER_HIT,
    }
    print("\nRows after the run (expected from the 200 responses):")
    for name, value in rows.items():
        print(f"- {name}: {value} (expected {expected[name]}){'' if value == expected[name] else '  MISMATCH'}")


if __name__ == "__main__":
    main()
