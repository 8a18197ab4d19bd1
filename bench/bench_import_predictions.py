"""Benchmark import_predictions: N images' top-5 predictions from JSONL, CSV and .npy.

Creates a dataset of N file-less images, writes one predictions file per format (top-5 labels,
with probabilities for JSONL and CSV), then times `import_predictions` for each (a first import)
and the JSONL file again (a re-import, which replaces the earlier rows). Everything the command
does is timed: reading and checking the file, and the write in one transaction.

    .venv/bin/python bench/bench_import_predictions.py [--images 200000] [--database-url URL]

Default database: a fresh SQLite file in a temporary folder. With a PostgreSQL URL the database is
dropped and re-created first.
"""

import argparse
import io
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from bench_classify_import import setup  # a fresh database, migrated, with the taxonomy


def create_images(count: int) -> list[str]:
    from annotation.models import Dataset, Image

    dataset = Dataset.objects.create(name="bench")
    names = [f"ILSVRC2012_val_{n:08d}.JPEG" for n in range(count)]
    Image.objects.bulk_create([Image(dataset=dataset, external_id=name) for name in names], batch_size=10_000)
    return names


def write_files(folder: Path, names: list[str]) -> dict[str, tuple[Path, Path | None]]:
    rng = np.random.default_rng(0)
    labels = np.argsort(rng.random((len(names), 1000)), axis=1)[:, :5]
    probs = np.round(np.sort(rng.dirichlet(np.ones(5), size=len(names)), axis=1)[:, ::-1], 4)
    with (folder / "p.jsonl").open("w") as handle:
        for name, row, prob in zip(names, labels.tolist(), probs.tolist(), strict=True):
            handle.write(json.dumps({"image": name, "labels": row, "probs": prob}) + "\n")
    buffer = io.StringIO("image,labels,probs\n")
    buffer.seek(0, io.SEEK_END)
    for name, row, prob in zip(names, labels.tolist(), probs.tolist(), strict=True):
        buffer.write(f"{name},{' '.join(map(str, row))},{' '.join(map(str, prob))}\n")
    (folder / "p.csv").write_text(buffer.getvalue())
    np.save(folder / "p.npy", labels.astype(np.int16))
    (folder / "order.txt").write_text("\n".join(names) + "\n")
    return {"jsonl": (folder / "p.jsonl", None), "csv": (folder / "p.csv", None),
            "npy": (folder / "p.npy", folder / "order.txt")}


def backend_cpu_seconds() -> float:
    """CPU time of this connection's PostgreSQL backend (a local server: read from /proc), 0 elsewhere."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return 0.0
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=200_000)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        setup(args.database_url or f"sqlite:///{folder / 'bench.sqlite3'}")
        from django.db import connection

        from annotation.models import Dataset
        from models_zoo.prediction_import import import_predictions

        names = create_images(args.images)
        files = write_files(folder, names)
        dataset = Dataset.objects.get(name="bench")
        runs = [(fmt, fmt, path, order) for fmt, (path, order) in files.items()]
        runs.append(("jsonl (re-import)", "jsonl", *files["jsonl"]))
        print(f"{args.images} images, top-5, on {connection.vendor}, {os.cpu_count()} cores, "
              f"load average {os.getloadavg()[0]:.1f}")
        for label, model, path, order in runs:
            started, cpu, server = time.perf_counter(), time.process_time(), backend_cpu_seconds()
            summary = import_predictions(dataset, model, path, order)
            seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
            server = backend_cpu_seconds() - server
            print(f"  {label:<18} wall {seconds:6.2f} s = {summary.images / seconds:>9,.0f} images/s; CPU: "
                  f"Python {cpu:.2f} s + PostgreSQL {server:.2f} s = {summary.images / (cpu + server):>9,.0f} "
                  f"images per CPU-second ({summary.replaced} replaced)")


if __name__ == "__main__":
    main()
