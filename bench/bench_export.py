"""Export benchmark: N selection-frequency rows and N CONTAINS judgments over the REST API and the CLI,
rows/s and peak RSS, in both formats.

Usage (PostgreSQL; the database is created and filled with COPY on first use):
    .venv/bin/python bench/bench_export.py --database-url postgres://postgres@127.0.0.1:5432/relabel_bench \
        --rows 10000000
Each export runs in its own process so its peak RSS (VmHWM) is its own. Prints a Markdown table
for docs/benchmarks.md (section "Export"), with the machine load before and after.
"""

import argparse
import io
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LABELS_PER_IMAGE = 10
IMAGES_PER_HIT = 48
ASSIGNMENTS_PER_HIT = 9
WORKERS = 2000
DATASET = "bench-export"


def setup_django(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "relabel.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def ensure_database(database_url: str) -> None:
    import psycopg

    base, name = database_url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def _copy(cursor, table: str, columns: str, lines) -> None:
    with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        buffer = io.StringIO()
        for i, line in enumerate(lines, 1):
            buffer.write(line)
            if i % 200_000 == 0:
                copy.write(buffer.getvalue())
                buffer = io.StringIO()
        copy.write(buffer.getvalue())


def fill(rows: int) -> None:
    """One dataset with rows / 10 images and 10 SF rows each, written with COPY."""
    from django.core.management import call_command
    from django.db import connection

    from analytics.models import SelectionFrequency
    from annotation.models import Dataset, Image, LabelClass

    call_command("migrate", verbosity=0)
    if LabelClass.objects.count() < 1000:
        call_command("load_taxonomy", verbosity=0)
    dataset, _ = Dataset.objects.get_or_create(name=DATASET)
    if SelectionFrequency.objects.filter(image__dataset=dataset).count() == rows:
        return
    Image.objects.filter(dataset=dataset).delete()
    n_images = rows // LABELS_PER_IMAGE
    label_ids = list(LabelClass.objects.order_by("index").values_list("id", flat=True))
    started = time.perf_counter()
    with connection.cursor() as cursor:
        raw = cursor.cursor
        _copy(raw, Image._meta.db_table,
              "dataset_id, external_id, file, thumbnail, sha256, size_bytes, width, height, original_label_id, "
              "created_at",
              (f"{dataset.pk}\tn{i:08d}.JPEG\t\t\t{i:064x}\t0\t500\t375\t{label_ids[i % 1000]}\t2026-01-01\n"
               for i in range(n_images)))
        first = Image.objects.filter(dataset=dataset).order_by("id").values_list("id", flat=True).first()
        _copy(raw, SelectionFrequency._meta.db_table, "image_id, label_id, n_selected, n_shown",
              (f"{first + i}\t{label_ids[(i * 7 + j * 97) % 1000]}\t{(i + j) % 10}\t9\n"
               for i in range(n_images) for j in range(LABELS_PER_IMAGE)))
        raw.execute("ANALYZE")
    print(f"filled {rows} SF rows in {time.perf_counter() - started:.0f} s", file=sys.stderr)


def fill_judgments(rows: int) -> None:
    """CONTAINS HITs of 48 images, 9 assignments each, until `rows` judgments (judgments written with COPY)."""
    from django.db import connection

    from annotation.models import ContainsJudgment, Dataset, Image, LabelClass
    from tasks.models import Assignment, Batch, Hit, Provider, TaskKind, Worker

    dataset = Dataset.objects.get(name=DATASET)
    if ContainsJudgment.objects.filter(image__dataset=dataset).count() == rows:
        return
    started = time.perf_counter()
    Batch.objects.filter(dataset=dataset).delete()
    batch = Batch.objects.create(dataset=dataset, kind=TaskKind.CONTAINS, provider=Provider.SIMULATED, reward="0.10")
    workers = Worker.objects.bulk_create(
        [Worker(provider=Provider.SIMULATED, external_id=f"bench-{i:05d}") for i in range(WORKERS)],
        ignore_conflicts=True)
    worker_ids = list(Worker.objects.filter(external_id__startswith="bench-").order_by("external_id")
                      .values_list("id", flat=True))
    assert len(worker_ids) == len(workers)
    label_ids = list(LabelClass.objects.order_by("index").values_list("id", flat=True))
    n_assignments = -(-rows // IMAGES_PER_HIT)
    n_hits = -(-n_assignments // ASSIGNMENTS_PER_HIT)
    Hit.objects.bulk_create([Hit(batch=batch, label_id=label_ids[h % 1000]) for h in range(n_hits)], batch_size=5000)
    hits = list(Hit.objects.filter(batch=batch).order_by("id").values_list("id", "label_id"))
    Assignment.objects.bulk_create([
        Assignment(hit_id=hits[a // ASSIGNMENTS_PER_HIT][0], status=Assignment.Status.APPROVED,
                   confirmation=Assignment.Confirmation.CONFIRMED,
                   worker_id=worker_ids[(a % ASSIGNMENTS_PER_HIT + a // ASSIGNMENTS_PER_HIT * 13) % WORKERS])
        for a in range(n_assignments)
    ], batch_size=5000)
    assignments = list(Assignment.objects.filter(hit__batch=batch).order_by("id").values_list("id", "hit_id"))
    labels = dict(hits)
    first = Image.objects.filter(dataset=dataset).order_by("id").values_list("id", flat=True).first()
    n_images = Image.objects.filter(dataset=dataset).count()
    hit_index = {hit_id: h for h, (hit_id, _) in enumerate(hits)}

    def lines():
        for a, (assignment_id, hit_id) in enumerate(assignments):
            h = hit_index[hit_id]
            for j in range(min(IMAGES_PER_HIT, rows - a * IMAGES_PER_HIT)):
                image = first + (h * IMAGES_PER_HIT + j) % n_images
                yield f"{assignment_id}\t{image}\t{labels[hit_id]}\t{'t' if (a + j) % 3 else 'f'}\n"

    with connection.cursor() as cursor:
        raw = cursor.cursor
        raw.execute("SET session_replication_role = replica")  # foreign keys hold by construction
        _copy(raw, ContainsJudgment._meta.db_table, "assignment_id, image_id, label_id, selected", lines())
        raw.execute("SET session_replication_role = DEFAULT")
        raw.execute("ANALYZE")
    print(f"filled {rows} judgments in {time.perf_counter() - started:.0f} s", file=sys.stderr)


def run_api(what: str, fmt: str) -> tuple[int, float]:
    """GET /api/v1/datasets/<name>/export/<what>.<fmt> through the full Django + DRF stack (in process)."""
    from django.test import Client

    from tests.factories import UserFactory

    client = Client()
    client.force_login(UserFactory(username="bench-staff", is_staff=True))
    started = time.perf_counter()
    response = client.get(f"/api/v1/datasets/{DATASET}/export/{what}.{fmt}")
    assert response.status_code == 200, response.status_code
    lines = sum(block.count(b"\n") for block in response.streaming_content)
    return lines, time.perf_counter() - started


def run_cli(what: str, fmt: str) -> tuple[int, float]:
    """manage.py export --what <what>, written to a file."""
    from django.core.management import call_command

    out = Path("/tmp") / f"bench-export.{fmt}"
    started = time.perf_counter()
    call_command("export", dataset=DATASET, what=what, format=fmt, out=str(out))
    elapsed = time.perf_counter() - started
    with open(out, "rb") as handle:
        lines = sum(block.count(b"\n") for block in iter(lambda: handle.read(1 << 20), b""))
    out.unlink()
    return lines, elapsed


def peak_rss_mb() -> float:
    """This process's peak RSS. Not ru_maxrss: on Linux it keeps the parent's peak across fork and exec."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(mode: str, what: str, fmt: str, database_url: str) -> None:
    setup_django(database_url)
    lines, elapsed = (run_api if mode == "api" else run_cli)(what, fmt)
    rows = lines - (1 if fmt == "csv" else 0)
    peak_mb = peak_rss_mb()
    print(f"{mode}\t{what}\t{fmt}\t{rows}\t{elapsed:.1f}\t{rows / elapsed:.0f}\t{peak_mb:.0f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/relabel_bench")
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--what", default="sf,contains", help="exports to time (default: sf,contains)")
    parser.add_argument("--child", nargs=3, metavar=("MODE", "WHAT", "FORMAT"))
    args = parser.parse_args()
    if args.child:
        child(*args.child, args.database_url)
        return
    ensure_database(args.database_url)
    setup_django(args.database_url)
    fill(args.rows)
    fill_judgments(args.rows)
    print(f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; {args.rows:,} rows each")
    print(f"Load average before: {os.getloadavg()[0]:.2f}")
    print("| path | export | format | rows | seconds | rows/s | peak RSS (MB) |\n|---|---|---|---|---|---|---|")
    for what in args.what.split(","):
        for mode in ("api", "cli"):
            for fmt in ("jsonl", "csv"):
                command = [sys.executable, __file__, "--database-url", args.database_url, "--child", mode, what, fmt]
                out = subprocess.run(command, check=True, capture_output=True, text=True, cwd=ROOT).stdout
                print("| " + " | ".join(out.strip().splitlines()[-1].split("\t")) + " |", flush=True)
    print(f"Load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
