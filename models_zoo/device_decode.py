"""Decoding on the inference device: JPEGs through nvJPEG (torchvision.io), centre crops resized there.

On a GPU, PIL cannot feed the ensemble: on a 16-core H100 machine, 15 loader processes decode and crop
~1,700 ImageNet images/s, while the GPU runs the three EfficientNet-Lites at ~4,800 images/s. The batched
nvJPEG decoder does ~18,000 images/s there and the crops ~12,000 (docs/benchmarks.md). So the CUDA path
decodes on the GPU, in a thread that prepares the next batch while the current one runs the models.

Crops are made as on the CPU (models_zoo.inference.centre_crops: the whole image resized with
antialiased interpolation, then centre-cropped), in float; the image is decoded at full size, where PIL
may downscale in the DCT (`draft`). Files that are not baseline RGB or greyscale JPEGs (PNG, CMYK,
progressive, ...), or that the decoder rejects, go through PIL as on the CPU; files PIL cannot read
either come back with ok=False. Crops are handed over as float tensors holding whole numbers in 0-255,
like the CPU path's uint8 crops.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from models_zoo.inference import TORCH_MODES, CropDataset, centre_crops, geometry_key
from models_zoo.lanes import batch_spans
from models_zoo.registry import Preprocessing

logger = logging.getLogger(__name__)

# Start-of-frame markers the batched decoder takes: baseline and extended Huffman (not progressive).
_DEVICE_FRAMES = (0xC0, 0xC1)
_OTHER_FRAMES = frozenset(range(0xC2, 0xD0)) - {0xC4, 0xC8, 0xCC}  # DHT, JPG and DAC are not frames
_START_OF_SCAN = 0xDA


def supports(preprocessings: Sequence[Preprocessing]) -> bool:
    """Whether every geometry can be resized on the device (torch has no Lanczos)."""
    return all(p.interpolation in TORCH_MODES for p in preprocessings)


def device_batches(dataset: CropDataset, batch_size: int, device: str) -> Iterator[tuple[Any, dict, Any]]:
    """Batches of (positions, uint8 NCHW crops on `device` by geometry key, ok), as make_loader yields.

    A background thread decodes batch k+1 while the caller runs batch k.
    """
    spans = batch_spans(len(dataset), batch_size)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="device-decode") as pool:
        pending = pool.submit(decode_span, dataset, spans[0], device) if spans else None
        for following in [*spans[1:], None]:
            batch = pending.result()
            pending = pool.submit(decode_span, dataset, following, device) if following else None
            yield batch


def decode_span(dataset: CropDataset, span: tuple[int, int], device: str) -> tuple[Any, dict, Any]:
    """Decode dataset items [start, stop) on the device; what it cannot decode goes through PIL."""
    import torch

    positions = list(range(*span))
    files = [_read(dataset.paths[position]) for position in positions]
    on_device = [i for i, data in enumerate(files) if data is not None and fits_device(data, dataset.max_pixels)]
    images = dict(zip(on_device, decode_jpegs([files[i] for i in on_device], device), strict=True))
    crops: dict[str, list[Any]] = {geometry_key(p.geometry): [] for p in dataset.preprocessings}
    ok = []
    for index, position in enumerate(positions):
        image = images.get(index)
        if image is not None:
            item = centre_crops(image[None].float(), dataset.preprocessings)
            ok.append(True)
        else:
            _, item, good = dataset[position]
            item = {key: torch.from_numpy(array).to(device).float() for key, array in item.items()}
            ok.append(good)
        for key, crop in item.items():
            crops[key].append(crop)
    batches = {key: torch.stack(tensors).round_().clamp_(0, 255) for key, tensors in crops.items()}
    return torch.tensor(positions), batches, torch.tensor(ok)


def _read(path: str) -> bytes | None:
    try:
        return Path(path).read_bytes()
    except OSError:
        return None  # PIL's attempt reports it


def fits_device(data: bytes, max_pixels: int = 0) -> bool:
    """A baseline JPEG with 1 or 3 components, within the pixel limit, read from its frame header."""
    frame = jpeg_frame(data)
    if frame is None:
        return False
    marker, width, height, components = frame
    fits = marker in _DEVICE_FRAMES and components in (1, 3) and width > 0 and height > 0
    return fits and (not max_pixels or width * height <= max_pixels)


def jpeg_frame(data: bytes) -> tuple[int, int, int, int] | None:
    """(start-of-frame marker, width, height, components) of a JPEG, or None if none comes before the scan.

    Walks the marker segments (a few per file) instead of opening the file with PIL, which costs ~0.1 ms.
    """
    if data[:2] != b"\xff\xd8":
        return None
    position = 2
    while position + 4 <= len(data):
        if data[position] != 0xFF:
            return None
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        length = int.from_bytes(data[position + 2 : position + 4], "big")
        if marker in _DEVICE_FRAMES or marker in _OTHER_FRAMES:
            header = data[position + 4 : position + 10]
            if len(header) < 6:
                return None
            return marker, int.from_bytes(header[3:5], "big"), int.from_bytes(header[1:3], "big"), header[5]
        if marker == _START_OF_SCAN or length < 2:
            return None
        position += 2 + length
    return None


def decode_jpegs(files: list[bytes], device: str) -> list[Any]:
    """RGB uint8 (3, H, W) tensors on `device`, one batched decode; None for a file the decoder rejects."""
    import torch
    from torchvision.io import ImageReadMode, decode_jpeg

    if not files:
        return []
    tensors = [torch.frombuffer(bytearray(data), dtype=torch.uint8) for data in files]
    try:
        return list(decode_jpeg(tensors, mode=ImageReadMode.RGB, device=device))
    except RuntimeError:  # one bad file fails the batch: find it
        return [_decode_one(tensor, device) for tensor in tensors]


def _decode_one(tensor: Any, device: str) -> Any | None:
    from torchvision.io import ImageReadMode, decode_jpeg

    try:
        return decode_jpeg(tensor, mode=ImageReadMode.RGB, device=device)
    except RuntimeError as exc:
        logger.info("the device decoder rejects a file, PIL decodes it: %s", exc)
        return None
