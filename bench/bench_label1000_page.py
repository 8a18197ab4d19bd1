"""1000-way labeling page: server render time and payload size with the full ImageNet-1k taxonomy.

Usage: .venv/bin/python bench/bench_label1000_page.py [--images-per-hit 10] [--repeat 7]
Uses a throw-away SQLite database; prints a Markdown table for docs/label1000.md.
"""

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images-per-hit", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="bench-l1k-")
    os.environ["DATABASE_URL"] = f"sqlite:///{workdir}/db.sqlite3"
    os.environ["RELABEL_VAR_DIR"] = workdir
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "relabel.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client

    from annotation.models import Dataset, Image, LabelClass
    from annotation.taxonomy import load_taxonomy
    from tasks.models import Hit

    call_command("migrate", verbosity=0)
    load_taxonomy()
    dataset = Dataset.objects.create(name="bench-l1k")
    labels = list(LabelClass.objects.order_by("index")[: args.images_per_hit])
    for n, label in enumerate(labels):
        Image.objects.create(dataset=dataset, external_id=f"{n}.jpg", file=f"images/{n}.jpg", sha256=f"{n:064x}",
                             original_label=label)
    call_command("create_hits", "--dataset", dataset.name, "--task", "label1000", "--per-hit",
                 str(args.images_per_hit), "--assignments", "1", "--provider", "sandbox", verbosity=0)
    hit = Hit.objects.get()
    hit.status = Hit.Status.PUBLISHED
    hit.save()
    client = Client()
    params = {"workerId": "W", "assignmentId": "A", "hitId": "H"}
    timings, size = [], 0
    for _ in range(args.repeat):
        start = time.perf_counter()
        response = client.get(f"/hit/{hit.pk}/", params)
        timings.append(time.perf_counter() - start)
        size = len(response.content)
    print(f"| machine | classes | images/HIT | median render (ms) | HTML bytes |\n|---|---|---|---|---|\n"
          f"| {platform.machine()}, {os.cpu_count()} CPUs | {LabelClass.objects.count()} | {args.images_per_hit} "
          f"| {statistics.median(timings) * 1000:.0f} | {size} |")


if __name__ == "__main__":
    main()
