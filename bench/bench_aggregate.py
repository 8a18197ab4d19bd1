"""Benchmark `aggregate` on PostgreSQL: 10 million synthetic CONTAINS judgments.

50,000 images x 20 labels x 10 workers, in grids of 48 images (20,840 HITs, 208,400 assignments),
loaded with COPY into a scratch database that is dropped and re-created on every run.

    .venv/bin/python bench/bench_aggregate.py [--images 50000] [--labels 20] [--workers 10]
        [--database-url postgres://postgres@127.0.0.1:5432/relabel_bench_aggregate]

Times the whole `aggregate` command (selection frequencies, categories of every image, CLASSIFY
results) twice, in judgments per second: a first build into empty aggregate tables, then a re-run
with unchanged counts; each with the SQL statements that took more than 50 ms, and the load average.
`--reuse` keeps the database of an earlier run and skips the (slow) COPY fill; `--fill-only` stops
after the fill.
"""

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import psycopg

ROOT = Path(__file__).resolve().parent.parent
GRID = 48


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=50_000)
    parser.add_argument("--labels", type=int, default=20)
    parser.add_argument("--workers", type=int, default=10)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/relabel_bench_aggregate")
    parser.add_argument("--reuse", action="store_true",
                        help="keep the database filled by an earlier run (same sizes) and only time the aggregation")
    parser.add_argument("--fill-only", action="store_true",
                        help="fill the database and stop (time it later with --reuse)")
    return parser.parse_args()


def recreate_database(url: str) -> None:
    base, name = url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "relabel.settings")
    sys.path.insert(0, str(ROOT))
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def copy_rows(cursor, table: str, columns: str, lines) -> None:
    with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for block in lines:
            copy.write(block)


def fill(args: argparse.Namespace):
    """Create the dataset, HITs and assignments with the ORM, then COPY the judgments."""
    from django.db import connection

    from annotation.models import Dataset, Image, LabelClass
    from tasks.models import Assignment, Batch, Hit, Worker

    labels = LabelClass.objects.bulk_create([
        LabelClass(index=i, wnid=f"n{i:08d}", name=f"class {i}", superclass="Devices") for i in range(args.labels)
    ])
    dataset = Dataset.objects.create(name="bench")
    images = Image.objects.bulk_create(
        [Image(dataset=dataset, external_id=f"{i:06d}.jpg", original_label=labels[i % args.labels])
         for i in range(args.images)], batch_size=10_000,
    )
    workers = Worker.objects.bulk_create(
        [Worker(provider="simulated", external_id=f"W{i}") for i in range(args.workers)]
    )
    batch = Batch.objects.create(dataset=dataset, kind="contains", provider="simulated")
    grids = [(label, start) for label in labels for start in range(0, args.images, GRID)]
    hits = Hit.objects.bulk_create([Hit(batch=batch, label=label) for label, _ in grids], batch_size=10_000)
    assignments = Assignment.objects.bulk_create(
        [Assignment(hit=hit, worker=worker, status="submitted", confirmation="confirmed")
         for hit in hits for worker in workers],
        batch_size=10_000,
    )
    image_ids = np.array([image.pk for image in images], dtype=np.int64)
    rng = np.random.default_rng(0)
    truth = rng.random((args.labels, args.images))  # each pair's chance of being selected

    def blocks():
        a = 0
        for (label, start), _hit in zip(grids, hits, strict=True):
            ids = image_ids[start:start + GRID]
            p = truth[label.index, start:start + GRID]
            for _ in workers:
                chosen = rng.random(len(ids)) < p
                pk = assignments[a].pk
                a += 1
                yield "".join(f"{pk}\t{i}\t{label.pk}\t{'t' if c else 'f'}\n" for i, c in zip(ids, chosen, strict=True))

    started = time.perf_counter()
    with connection.cursor() as cursor:
        # Synthetic rows are consistent by construction: skip the per-row foreign-key triggers while
        # loading (needs a superuser, as in the scratch database of this benchmark).
        cursor.execute("SET session_replication_role = replica")
        copy_rows(cursor.cursor, "annotation_containsjudgment", "assignment_id, image_id, label_id, selected",
                  blocks())
        cursor.execute("SET session_replication_role = DEFAULT")
        cursor.execute("VACUUM (ANALYZE)")  # hint bits and statistics, as autovacuum leaves a live table
    total = args.images * args.labels * args.workers
    print(f"loaded {total:,} judgments with COPY in {time.perf_counter() - started:.1f}s")
    return dataset, total


def main() -> None:
    args = parse_args()
    if not args.reuse:
        recreate_database(args.database_url)
    setup_django(args.database_url)
    if args.reuse:
        from annotation.models import ContainsJudgment, Dataset

        dataset, total = Dataset.objects.get(name="bench"), ContainsJudgment.objects.count()
    else:
        dataset, total = fill(args)
    if args.fill_only:
        return
    from django.db import connection

    from analytics.models import ClassifyResult, ImageCategory, SelectionFrequency

    tables = ", ".join(model._meta.db_table for model in (SelectionFrequency, ImageCategory, ClassifyResult))
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {tables}")
    for run in ("first build (empty aggregate tables)", "re-run (counts unchanged)"):
        time_aggregate(dataset, run, total)


def time_aggregate(dataset, run: str, total: int) -> None:
    from django.core.management import call_command
    from django.db import connection

    steps = []

    def timed(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            steps.append((time.perf_counter() - started, " ".join(sql.split())[:90]))

    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    with connection.execute_wrapper(timed):
        call_command("aggregate", "--dataset", dataset.name)
    seconds = time.perf_counter() - started
    print(f"aggregate command, {run}: {total:,} judgments in {seconds:.2f}s = {total / seconds / 1e6:.2f} M judgments/s"
          f" (load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after)")
    for step_seconds, sql in steps:
        if step_seconds > 0.05:
            print(f"  {step_seconds:6.2f}s  {sql}")

if __name__ == "__main__":
    main()
