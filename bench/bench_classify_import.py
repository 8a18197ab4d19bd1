"""Benchmark importing and aggregating CLASSIFY answers at the paper's scale.

Generates 59,580 synthetic answers for 6,761 images (the size of the paper's released CLASSIFY
data), then times `import_responses --task classify --create-missing-images` and `aggregate`.

    .venv/bin/python bench/bench_classify_import.py [--database-url URL]

Default database: a fresh SQLite file in a temporary folder (the embedded set-up). With a PostgreSQL
URL the database is dropped and re-created first.
"""

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IMAGES = 6_761
ANSWERS = 59_580


def write_answers(path: Path, seed: int = 0) -> None:
    """Each image: 2-5 candidate labels around its original one; workers select 1-3, one of them main."""
    rng = random.Random(seed)
    per_image = [ANSWERS // IMAGES + (1 if i < ANSWERS % IMAGES else 0) for i in range(IMAGES)]
    with path.open("w") as handle:
        for number, count in enumerate(per_image):
            original = rng.randrange(1000)
            candidates = [original, *rng.sample(range(1000), rng.randint(1, 4))]
            for worker in range(count):
                selected = rng.sample(candidates, rng.randint(1, min(3, len(candidates))))
                handle.write(json.dumps({
                    "image": f"ILSVRC2012_val_{number:08d}.JPEG", "original_label": original,
                    "worker": f"A{rng.randrange(400):04d}{worker}", "selected": selected, "main": selected[0],
                }) + "\n")


def setup(url: str) -> None:
    if url.startswith("postgres"):
        import psycopg

        base, name = url.rsplit("/", 1)
        with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "relabel.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("load_taxonomy", verbosity=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite:///{folder}/bench.sqlite3"
        setup(url)
        from django.core.management import call_command

        from annotation.models import Dataset

        answers = Path(folder) / "classify.jsonl"
        write_answers(answers)
        Dataset.objects.create(name="released")
        started = time.perf_counter()
        call_command("import_responses", "--dataset", "released", "--task", "classify", str(answers),
                     "--create-missing-images")
        imported = time.perf_counter() - started
        started = time.perf_counter()
        call_command("aggregate", "--dataset", "released")
        aggregated = time.perf_counter() - started
        print(f"{url.split(':')[0]}: import {ANSWERS:,} answers for {IMAGES:,} images in {imported:.2f}s; "
              f"aggregate in {aggregated:.2f}s; total {imported + aggregated:.2f}s")


if __name__ == "__main__":
    main()
