"""Benchmark the crop step of the GPU path alone: `device_decode.batched_centre_crops` for the 3-model ensemble.

Decodes --images shared samples once with torchvision on --device (the files are used again when there are
fewer), then times the three centre crops of every image (224, 240 and 260 px, bicubic) in batches of
--batch-size, --rounds times, and prints images/s per round and their median. On CUDA each round ends with a
synchronize, so the figure is the device's, with nothing else running on it: under the forward passes the
step shares the GPU. It runs on the CPU too (torch's threads), which is how it was measured without a GPU.

Usage: .venv/bin/python bench/bench_device_crops.py [--device cpu|cuda] [--images 256] [--batch-size 256]
                                                    [--rounds 3] [--samples DIR]
"""

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SAMPLES = ROOT.parent / "shared" / "datasets" / "imagenet-samples"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="", help="cpu or cuda (default: cuda when there is one)")
    parser.add_argument("--images", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--samples", default=os.environ.get("RELABEL_SAMPLES_DIR", str(DEFAULT_SAMPLES)))
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    import torch

    from models_zoo.device_decode import batched_centre_crops
    from models_zoo.registry import BUILTIN_MODELS

    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        sys.exit(f"--device {device}: torch finds no CUDA GPU on this machine; use --device cpu")
    images = decoded_samples(Path(args.samples), args.images, device)
    preprocessings = [spec.preprocessing for spec in BUILTIN_MODELS]
    batches = [images[start : start + args.batch_size] for start in range(0, len(images), args.batch_size)]
    print(f"device={device} torch threads={torch.get_num_threads()} cores={os.cpu_count()} "
          f"{platform.processor() or platform.machine()} images={len(images)} batch={args.batch_size}", flush=True)
    batched_centre_crops(batches[0], preprocessings, device)  # warm-up: allocator, kernels
    rates = []
    for number in range(1, args.rounds + 1):
        synchronize(device)
        start = time.perf_counter()
        for batch in batches:
            batched_centre_crops(batch, preprocessings, device)
        synchronize(device)
        rates.append(len(images) / (time.perf_counter() - start))
        print(f"  round {number}: {rates[-1]:9.1f} img/s", flush=True)
    print(f"crop step, median of {args.rounds}: {statistics.median(rates):.1f} img/s")


def decoded_samples(folder: Path, count: int, device: str) -> list:
    """`count` RGB uint8 (3, H, W) tensors on `device`, decoded from the JPEGs of `folder` (again when short)."""
    import torch
    from torchvision.io import ImageReadMode, decode_jpeg

    files = sorted(folder.glob("*.JPEG"))
    if not files:
        sys.exit(f"no *.JPEG files in {folder}: pass --samples or set RELABEL_SAMPLES_DIR")
    decoded = {}
    for path in files[:count]:
        data = torch.frombuffer(bytearray(path.read_bytes()), dtype=torch.uint8)
        decoded[path] = decode_jpeg(data, mode=ImageReadMode.RGB, device=device)
    return [decoded[files[number % len(decoded)]] for number in range(count)]


def synchronize(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize(device)


if __name__ == "__main__":
    main()
