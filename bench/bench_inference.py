"""Benchmark candidate proposal for the 3-model ensemble on the shared ImageNet samples.

(a) `propose_candidates --sync` end to end, model loading included: first with no frozen graph on disk
    (traced), then again as any later run finds them (the figure used for the ratios),
(b) forward passes alone on pre-decoded tensors, at the best batch size / memory format found; on the CPU
    the best of one process with torch's threads and of --lanes forked processes with one thread each
    (models_zoo.lanes, as propose_candidates runs them),
(c) a naive loop: one image at a time, decode then forward, NCHW fp32.
After the sweep and the first (a), --rounds rounds each measure (b), (a) and (c) one after the other and
print their ratios, then the medians: on a shared 2-core VM the same code runs ±20% apart from one
minute to the next, and one slow minute should not decide a ratio.

Usage: .venv/bin/python bench/bench_inference.py [--images 1000] [--batch-sizes 2,4,8] [--device auto]
                                                 [--samples DIR] [--rounds 3]
Runs in a throw-away SQLite database and media folder; prints images/s. With more --images than files in
--samples, the files are used again as distinct copies (a JPEG comment naming the copy), so that a GPU can be
given thousands of images from a few hundred.
"""

import argparse
import os
import platform
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODELS = ["efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--batch-sizes", default="2,4,8")
    parser.add_argument("--sweep-images", type=int, default=64, help="images per batch-size trial")
    parser.add_argument("--forward-images", type=int, default=1000, help="pre-decoded images for (b)")
    parser.add_argument("--naive-images", type=int, default=100, help="images for the naive loop (c)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--lanes", type=int, default=1, help="CPU lanes (1: one process, 0: one per core)")
    parser.add_argument("--lane-batch-sizes", default="1,2,4", help="batch sizes tried in CPU lanes")
    parser.add_argument("--samples", default="", help="folder of JPEGs (default: RELABEL_SAMPLES_DIR)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of (b), (a) and (c), one after the other")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-inference-"))
    os.environ.update({
        "DATABASE_URL": f"sqlite:///{work / 'db.sqlite3'}",
        "RELABEL_VAR_DIR": str(work / "var"),
        "MEDIA_ROOT": str(work / "media"),
        "CELERY_BROKER_URL": "",
        "DJANGO_SETTINGS_MODULE": "relabel.settings",
        "DEBUG": "0",  # as deployed: with DEBUG on, Django keeps the SQL of every query (~20% of storing)
        "SECRET_KEY": secrets.token_urlsafe(50),
    })
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    try:
        run(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(args: argparse.Namespace, work: Path) -> None:
    import torch
    from django.conf import settings

    from models_zoo import inference

    paths = prepare_dataset(work, args.images, args.samples)
    config = inference.default_config(args.device, lanes=args.lanes)
    print(f"device={config.device} torch threads={torch.get_num_threads()} cores={os.cpu_count()} "
          f"{platform.processor() or platform.machine()} images={len(paths)}", flush=True)
    best, sweep = sweep_forward(paths[: args.sweep_images], config, [int(b) for b in args.batch_sizes.split(",")])
    for (batch, channels_last, frozen), rate in sorted(sweep.items()):
        print(f"  forward sweep: batch {batch:3d} {describe(channels_last, frozen)} {rate:7.1f} img/s", flush=True)
    batch, channels_last, frozen = best
    single_batch = batch
    if config.device == "cpu" and config.lanes > 1:
        batch = lanes_batch(args, paths, config, channels_last, frozen)
    settings.RELABEL_INFERENCE_BATCH_SIZE = batch
    settings.RELABEL_INFERENCE_LANES = config.lanes
    settings.RELABEL_INFERENCE_GRAPH = "frozen" if frozen else "eager"
    shutil.rmtree(Path(settings.VAR_DIR) / "graphs", ignore_errors=True)
    cold_rate = end_to_end(len(paths), args.device)
    print(f"(a) propose_candidates --sync end to end, first run (graphs traced): {cold_rate:.1f} img/s", flush=True)
    print(f"(b) batch {single_batch}, {describe(channels_last, frozen)}"
          + (f", or {config.lanes} lanes of batch {batch}" if config.lanes > 1 else "")
          + f"; (a) graphs on disk, loader processes {config.workers}, lanes {config.lanes}, batch {batch}", flush=True)
    rounds = []
    for number in range(1, args.rounds + 1):
        forward_rate = timed_forward(paths[: args.forward_images], config, single_batch, channels_last, frozen)
        if config.device == "cpu" and config.lanes > 1:
            lanes_rate = timed_lanes_forward(paths[: args.forward_images], config, batch, channels_last, frozen)
            forward_rate = max(forward_rate, lanes_rate)
        forget_proposals()
        end_to_end_rate = end_to_end(len(paths), args.device)
        naive_rate = naive_loop(paths[: args.naive_images], config.device)
        rounds.append((end_to_end_rate, forward_rate, naive_rate))
        print(f"round {number}: " + describe_rates(*rounds[-1]), flush=True)
    medians = [statistics.median(rates) for rates in zip(*rounds, strict=True)]
    print(f"median of {len(rounds)} rounds: " + describe_rates(*medians))


def describe_rates(end_to_end_rate: float, forward_rate: float, naive_rate: float) -> str:
    return (f"(a) {end_to_end_rate:.1f}  (b) {forward_rate:.1f}  (c) {naive_rate:.1f} img/s  "
            f"(a)/(b) = {end_to_end_rate / forward_rate:.2f}  (a)/(c) = {end_to_end_rate / naive_rate:.2f}")


def prepare_dataset(work: Path, count: int, samples: str) -> list[str]:
    from django.conf import settings
    from django.core.management import call_command

    from annotation.importer import import_images
    from annotation.models import Image
    from annotation.taxonomy import load_taxonomy

    call_command("migrate", verbosity=0)
    load_taxonomy()
    source = work / "samples"
    source.mkdir()
    files = sorted(Path(samples or settings.RELABEL_SAMPLES_DIR).glob("*.JPEG"))
    step = max(1, len(files) // count)
    for path in files[::step][:count]:
        shutil.copy(path, source)
    import_images("bench", source)
    add_copies(count)
    return [image.file.path for image in Image.objects.filter(dataset__name="bench").order_by("pk")]


def add_copies(count: int) -> None:
    """Top the dataset up to `count` images with distinct copies of its files (bypassing the importer's
    thumbnails): a JPEG comment segment naming the copy makes each file's content unique."""
    import hashlib

    from django.conf import settings

    from annotation.models import Image

    originals = list(Image.objects.filter(dataset__name="bench").order_by("pk"))
    folder = Path(settings.MEDIA_ROOT) / "bench-copies"
    folder.mkdir(parents=True, exist_ok=True)
    copies = []
    for number in range(len(originals), count):
        original = originals[number % len(originals)]
        data = Path(original.file.path).read_bytes()
        comment = f"copy {number}".encode()
        data = data[:2] + b"\xff\xfe" + (len(comment) + 2).to_bytes(2, "big") + comment + data[2:]
        name = f"{Path(original.file.name).stem}-{number}.JPEG"
        (folder / name).write_bytes(data)
        copies.append(Image(
            dataset_id=original.dataset_id, external_id=f"copy-{number}", file=f"bench-copies/{name}",
            sha256=hashlib.sha256(data).hexdigest(), size_bytes=len(data), width=original.width,
            height=original.height, original_label_id=original.original_label_id,
        ))
    Image.objects.bulk_create(copies)


def describe(channels_last: bool, frozen: bool) -> str:
    return f"{'channels_last' if channels_last else 'NCHW'} {'graph' if frozen else 'eager'}"


def load(config, channels_last: bool, frozen: bool):
    from models_zoo.registry import get_models
    from models_zoo.weights import get_loaded_model

    return [get_loaded_model(spec, config.device, channels_last, frozen) for spec in get_models(MODELS)]


def decoded_batches(paths: list[str], models, batch: int) -> list[dict]:
    import numpy as np
    import torch

    from models_zoo.inference import load_crops

    crops = [load_crops(path, [m.preprocessing for m in models]) for path in paths]
    return [
        {key: torch.from_numpy(np.stack([c[key] for c in crops[i : i + batch]])) for key in crops[0]}
        for i in range(0, len(crops), batch)
    ]


def timed_forward(paths: list[str], config, batch: int, channels_last: bool, frozen: bool) -> float:
    from dataclasses import replace

    from models_zoo.inference import forward_batch

    models = load(config, channels_last, frozen)
    run_config = replace(config, batch_size=batch, channels_last=channels_last, frozen=frozen)
    batches = decoded_batches(paths, models, batch)
    for _ in range(2):  # warm-up: a fused graph builds its kernels at the second call with a new shape
        forward_batch(models, batches[0], run_config, 5, MODELS[0])
    _sync(config.device)
    start = time.perf_counter()
    for crops in batches:
        forward_batch(models, crops, run_config, 5, MODELS[0])
    _sync(config.device)
    return len(paths) / (time.perf_counter() - start)


def timed_lanes_forward(paths: list[str], config, batch: int, channels_last: bool, frozen: bool) -> float:
    """Forward passes alone in `config.lanes` forked processes of one torch thread each (models_zoo.lanes)."""
    from dataclasses import replace

    from models_zoo.inference import forward_batch
    from models_zoo.lanes import run_in_lanes

    models = load(config, channels_last, frozen)
    run_config = replace(config, batch_size=batch, channels_last=channels_last)
    batches = decoded_batches(paths, models, batch)
    for _ in range(2):  # warm-up at this batch size, inherited by the lanes
        forward_batch(models, batches[0], run_config, 5, MODELS[0])

    def work(span: tuple[int, int]) -> tuple[int, int]:
        forward_batch(models, batches[span[0]], run_config, 5, MODELS[0])
        return span

    start = time.perf_counter()
    for _ in run_in_lanes(work, [(index, index + 1) for index in range(len(batches))], config.lanes):
        pass
    return len(paths) / (time.perf_counter() - start)


def lanes_batch(args: argparse.Namespace, paths: list[str], config, channels_last: bool, frozen: bool) -> int:
    """The lanes' best batch size, from a sweep over --lane-batch-sizes."""
    rates = {
        batch: timed_lanes_forward(paths[: args.sweep_images], config, batch, channels_last, frozen)
        for batch in [int(b) for b in args.lane_batch_sizes.split(",")]
    }
    for batch, rate in sorted(rates.items()):
        print(f"  forward sweep in {config.lanes} lanes: batch {batch:3d} {rate:7.1f} img/s", flush=True)
    return max(rates, key=rates.get)


def sweep_forward(paths: list[str], config, batch_sizes: list[int]) -> tuple[tuple[int, bool, bool], dict]:
    """Forward rate per (batch, channels_last, frozen): frozen is a TorchScript graph per model on the CPU,
    the ensemble captured as one CUDA graph on a GPU."""
    results = {
        (batch, channels_last, frozen): timed_forward(paths, config, batch, channels_last, frozen)
        for batch in batch_sizes
        for channels_last in (False, True)
        for frozen in (False, True)
    }
    return max(results, key=results.get), results


def end_to_end(count: int, device: str) -> float:
    from django.core.management import call_command

    from models_zoo import weights

    weights._LOADED.clear()  # the command's time includes loading the models
    start = time.perf_counter()
    call_command("propose_candidates", "--dataset", "bench", "--sync", "--no-progress", "--device", device,
                 "--models", ",".join(MODELS))
    return count / (time.perf_counter() - start)


def forget_proposals() -> None:
    """Remove what propose_candidates stored, so that the next run does all the work again."""
    from annotation.models import CandidateLabel
    from models_zoo.models import ImageFeature, InferenceChunk, Prediction

    for model in (Prediction, CandidateLabel, ImageFeature, InferenceChunk):
        model.objects.all().delete()


def naive_loop(paths: list[str], device: str) -> float:
    """The straightforward way: per image and model, full decode, resize, crop, forward, NCHW fp32."""
    import numpy as np
    import torch
    from PIL import Image

    from models_zoo.inference import InferenceConfig

    models = load(InferenceConfig(device=device), channels_last=False, frozen=False)
    start = time.perf_counter()
    with torch.inference_mode():
        for path in paths:
            for model in models:
                prep = model.preprocessing
                image = Image.open(path).convert("RGB")
                scale = prep.resize_to / min(image.size)
                image = image.resize((int(image.width * scale), int(image.height * scale)), Image.Resampling.BICUBIC)
                left, top = (image.width - prep.input_size) // 2, (image.height - prep.input_size) // 2
                image = image.crop((left, top, left + prep.input_size, top + prep.input_size))
                x = torch.from_numpy(np.asarray(image, dtype=np.float32) / 255.0).permute(2, 0, 1)[None]
                x = (x - torch.tensor(prep.mean).view(1, 3, 1, 1)) / torch.tensor(prep.std).view(1, 3, 1, 1)
                torch.softmax(model.module(x.to(device)), dim=1).topk(5)
    _sync(device)
    return len(paths) / (time.perf_counter() - start)


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()


if __name__ == "__main__":
    main()
