"""CPU of the annotator requests, in process: a local annotator's submission that carries the next HIT's page
(the next-HIT step of bench_next_hit.py), and an MTurk-style worker's first visit of a HIT page and submission (what
each of bench_load.py's simulated annotators sends).

The requests go through Django's test client (every middleware, no HTTP server) to the PostgreSQL database that a
`bench_load.py --keep` run filled, with the deployed settings (DEBUG off), so that each request meets as many rows
as under the load bench. For each kind of request: the median CPU time of this process (Python, Django, psycopg;
PostgreSQL's own work is not in it) and the number of queries (statements through cursors: BEGIN, COMMIT and
savepoints aside). --code runs the requests with the code of other checkouts (e.g. a `git worktree` of the code
before a change) on the same database, in turns, --rounds times.

    .venv/bin/python bench/bench_load.py --steps 100 --duration 10 --keep      # fills the database, once
    .venv/bin/python bench/bench_request_cost.py [--requests 19] [--code DIR ...] [--rounds 3]

Each run of the local annotator's requests adds a local batch of --requests + 1 HITs (48 of the imported images
each, none twice) and closes it afterwards, as bench_load.py closes its probe batches.
"""

import argparse
import json
import os
import random
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import bench_load

GRID = bench_load.CONTAINS_GRID
LOCAL_BATCH = "bench: request cost"
MAX_REQUESTS = 19  # 1000 imported images: 20 HITs of 48 without showing an image twice


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=MAX_REQUESTS, help=f"of each kind (at most {MAX_REQUESTS})")
    parser.add_argument("--code", type=Path, action="append", help="checkout whose code runs the requests")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not 1 <= args.requests <= MAX_REQUESTS:
        parser.error(f"--requests must be from 1 to {MAX_REQUESTS}: the local batch shows each imported image once")
    state = Path(tempfile.gettempdir()) / bench_load.STATE_FILE
    if not state.exists():
        parser.error(f"no filled database ({state} is missing): run bench/bench_load.py --keep first")
    media = Path(json.loads(state.read_text())["dir"])
    if args.measure:
        print(json.dumps(measure(media, args.requests)))
        return
    print("| code (round) | local submission + next page: CPU ms, queries | MTurk-style first visit: CPU ms, queries "
          "| MTurk-style submission: CPU ms, queries |\n|---|---|---|---|")
    for round_ in range(args.rounds):
        for code in [path.resolve() for path in args.code or [bench_load.ROOT]]:
            result = subprocess.run(
                [sys.executable, __file__, "--measure", "--requests", str(args.requests)],
                cwd=code, env={**os.environ, "BENCH_CODE": str(code)}, capture_output=True, text=True,
            )
            if result.returncode:
                raise SystemExit(f"{code}: the measuring run failed:\n{result.stderr[-3000:]}")
            costs = json.loads(result.stdout.strip().splitlines()[-1])
            cells = " | ".join(f"{costs[kind]['cpu_ms']:.1f}, {costs[kind]['queries']}"
                               for kind in ("local_next", "mturk_page", "mturk_submit"))
            print(f"| {code} ({round_ + 1}) | {cells} |", flush=True)


def measure(media: Path, requests: int) -> dict:
    """The costs, with the code of $BENCH_CODE (this checkout by default)."""
    code = Path(os.environ.get("BENCH_CODE", bench_load.ROOT))
    os.environ.update({**bench_load.server_env(media), "ALLOWED_HOSTS": "testserver",
                       "DJANGO_SETTINGS_MODULE": "relabel.settings"})
    sys.path.insert(0, str(code))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("collectstatic", "--noinput", verbosity=0)
    return {"local_next": local_next_hit(requests), **mturk_visits(requests)}


@contextmanager
def counted_queries():
    """The number of statements run through cursors inside the block (counted as they go, without Django's SQL
    log; the transactions' BEGIN, COMMIT and savepoints are not among them)."""
    from django.db import connection

    count = [0]

    def count_one(execute, sql, params, many, context):
        count[0] += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count_one):
        yield count


def timed(samples: list[float], queries: list[int], request):
    with counted_queries() as count:
        started = time.process_time()
        response = request()
        samples.append((time.process_time() - started) * 1000)
    queries.append(count[0])
    return response


def summary(samples: list[float], queries: list[int]) -> dict:
    return {"cpu_ms": statistics.median(samples), "queries": max(queries)}


def local_next_hit(requests: int) -> dict:
    """A local annotator submits `requests` HITs in turn, each answer carrying the next HIT's page (hit.js's way)."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    from annotation.models import Dataset, Image, LabelClass
    from tasks.models import Batch, Hit, HitItem, Provider, TaskKind

    dataset = Dataset.objects.get(name="load")
    pictures = random.Random(0).sample(list(Image.objects.filter(dataset=dataset).values_list("id", flat=True)),
                                       (requests + 1) * GRID)
    batch = Batch.objects.create(dataset=dataset, kind=TaskKind.CONTAINS, provider=Provider.LOCAL, reward="0",
                                 assignments_per_hit=3, status=Batch.Status.PUBLISHED, name=LOCAL_BATCH)
    label = LabelClass.objects.order_by("index").first()
    hits = Hit.objects.bulk_create(Hit(batch=batch, label=label, status=Hit.Status.PUBLISHED)
                                   for _ in range(requests + 1))
    HitItem.objects.bulk_create(HitItem(hit=hit, image_id=image, position=position) for n, hit in enumerate(hits)
                                for position, image in enumerate(pictures[n * GRID:(n + 1) * GRID]))
    client = Client()
    client.force_login(get_user_model().objects.create_user(f"cost{secrets.token_hex(4)}"))
    samples, queries = [], []
    try:
        page = client.get(f"/hit/{hits[0].pk}/").content.decode()
        for _ in range(requests):
            config = json.loads(bench_load.CONFIG_RE.search(page).group(1))
            body = json.dumps({"token": config["token"], "selected": []})
            answer = timed(samples, queries, partial(
                client.post, config["submitUrl"], body, content_type="application/json", HTTP_X_RELABEL_NEXT_PAGE="1"))
            page = answer.json().get("nextPage")
            if page is None:
                raise SystemExit(f"the submission's answer carried no next page: {answer.json()}")
    finally:
        Hit.objects.filter(batch=batch).update(status=Hit.Status.EXPIRED)
        Batch.objects.filter(pk=batch.pk).update(status=Batch.Status.EXPIRED)
    return summary(samples, queries)


def mturk_visits(requests: int) -> dict:
    """MTurk-style workers open `requests` CONTAINS HITs of the load batch (ten workers in turn, most of them back
    for another HIT, as in bench_load.py) and submit their answers. Visits refused for a repeated item are skipped."""
    from django.db.models import Count
    from django.test import Client

    from tasks.models import Hit

    open_hits = (Hit.objects.filter(batch__name="load contains").annotate(taken=Count("assignments"))
                 .filter(taken__lt=5).order_by("?").values_list("id", flat=True))
    client, tag = Client(), secrets.token_hex(3).upper()
    pages, page_queries, submits, submit_queries = [], [], [], []
    for number, hit in enumerate(open_hits[:requests * 3]):
        if len(submits) == requests:
            break
        worker = f"COST{tag}W{number % 10}"
        query = (f"assignmentId={worker}H{hit}&hitId=LOAD{hit}&workerId={worker}"
                 f"&turkSubmitTo={bench_load.SANDBOX}")
        page = timed(pages, page_queries, partial(client.get, f"/hit/{hit}/?{query}"))
        if page.status_code != 200:
            pages.pop()
            page_queries.pop()
            continue
        html = page.content.decode()
        config = json.loads(bench_load.CONFIG_RE.search(html).group(1))
        body = json.dumps({"token": config["token"], **bench_load.answers("contains", html)})
        timed(submits, submit_queries, partial(client.post, f"/hit/{hit}/submit/", body,
                                               content_type="application/json"))
    return {"mturk_page": summary(pages, page_queries), "mturk_submit": summary(submits, submit_queries)}


if __name__ == "__main__":
    main()
