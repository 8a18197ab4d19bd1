"""Decoding on the inference device: JPEGs through nvJPEG (torchvision.io), centre crops resized there.

On a GPU, PIL cannot feed the ensemble: on a 16-core H100 machine, 15 loader processes decode and crop
~1,700 ImageNet images/s, while the GPU runs the three EfficientNet-Lites at ~4,600 images/s. The batched
nvJPEG decoder does ~18,000 images/s there (docs/benchmarks.md). So the CUDA path decodes on the GPU, in
DECODE_THREADS threads that prepare the next batches while the current one runs the models.

Crops are those of the CPU path (models_zoo.inference.centre_crops: the whole image resized with antialiased
interpolation, then centre-cropped), made for a whole batch at once by matrix products
(`batched_centre_crops`), in float; the image is decoded at full size, where PIL may downscale in the DCT
(`draft`). Files that are not baseline RGB or greyscale JPEGs (PNG, CMYK, progressive, ...), or that the
decoder rejects, go through PIL as on the CPU; files PIL cannot read either come back with ok=False.
Crops are handed over as float tensors holding whole numbers in 0-255, like the CPU path's uint8 crops.
"""

from __future__ import annotations

import logging
import math
import threading
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from models_zoo.geometry import TORCH_MODES, geometry_key, resized_geometry
from models_zoo.lanes import batch_spans
from models_zoo.registry import Preprocessing

if TYPE_CHECKING:  # inference imports this module lazily; a runtime import back would be a cycle
    from models_zoo.inference import CropDataset

logger = logging.getLogger(__name__)

# Start-of-frame markers the batched decoder takes: baseline and extended Huffman (not progressive).
_DEVICE_FRAMES = (0xC0, 0xC1)
_OTHER_FRAMES = frozenset(range(0xC2, 0xD0)) - {0xC4, 0xC8, 0xCC}  # DHT, JPG and DAC are not frames
_START_OF_SCAN = 0xDA


def supports(preprocessings: Sequence[Preprocessing]) -> bool:
    """Whether every geometry can be resized on the device (torch has no Lanczos)."""
    return all(p.interpolation in TORCH_MODES for p in preprocessings)


# Batches decoded at once, each by its own thread on its own CUDA stream: one thread, waiting on the
# decoder and on its kernels queued behind the forward passes, fed the H100 ~1,200 images/s.
DECODE_THREADS = 3


def device_batches(dataset: CropDataset, batch_size: int, device: str) -> Iterator[tuple[Any, dict, Any]]:
    """Batches of (positions, crops on `device` by geometry key, ok), in order, as make_loader yields.

    Background threads decode the next DECODE_THREADS batches while the caller runs the current one; on
    CUDA each works on a stream of its own, so that its kernels run beside the forward passes instead of
    queueing behind them.
    """
    spans = batch_spans(len(dataset), batch_size)
    streams = threading.local()
    with ThreadPoolExecutor(max_workers=DECODE_THREADS, thread_name_prefix="device-decode") as pool:
        pending = deque(pool.submit(_decode_on, streams, dataset, span, device) for span in spans[:DECODE_THREADS])
        for following in [*spans[DECODE_THREADS:], *[None] * len(pending)]:
            batch, done = pending.popleft().result()
            if following is not None:
                pending.append(pool.submit(_decode_on, streams, dataset, following, device))
            yield _handed_over(batch, done, device)


def _decode_on(streams: threading.local, dataset: CropDataset, span: tuple[int, int], device: str) -> tuple[Any, Any]:
    """decode_span on this thread's stream (none on the CPU), with an event marking the end of its kernels."""
    import torch

    if not device.startswith("cuda"):
        return decode_span(dataset, span, device), None
    if not hasattr(streams, "stream"):
        streams.stream = torch.cuda.Stream(device=device)
    with torch.cuda.stream(streams.stream):
        batch = decode_span(dataset, span, device)
        done = torch.cuda.Event()
        done.record(streams.stream)
    return batch, done


def _handed_over(batch: tuple[Any, dict, Any], done: Any | None, device: str) -> tuple[Any, dict, Any]:
    """Make the caller's stream wait for the decoding kernels, and keep their memory until it is done."""
    if done is None:
        return batch
    import torch

    current = torch.cuda.current_stream(torch.device(device))
    current.wait_event(done)
    for crops in batch[1].values():
        crops.record_stream(current)
    return batch


def decode_span(dataset: CropDataset, span: tuple[int, int], device: str) -> tuple[Any, dict, Any]:
    """Decode dataset items [start, stop) on the device; what it cannot decode goes through PIL."""
    import torch

    positions = list(range(*span))
    files = [_read(dataset.paths[position]) for position in positions]
    on_device = [i for i, data in enumerate(files) if data is not None and fits_device(data, dataset.max_pixels)]
    decoded = decode_jpegs([files[i] for i in on_device], device)
    images = {index: image for index, image in zip(on_device, decoded, strict=True) if image is not None}
    crops = batched_centre_crops(list(images.values()), dataset.preprocessings, device)
    rows = {index: row for row, index in enumerate(images)}
    ok = []
    others: dict[int, dict[str, Any]] = {}
    for index, position in enumerate(positions):
        if index in rows:
            ok.append(True)
            continue
        _, item, good = dataset[position]
        others[index] = {key: torch.from_numpy(array).to(device).float() for key, array in item.items()}
        ok.append(good)
    batches = {}
    for key, decoded_crops in crops.items():
        if others:
            parts = [decoded_crops[rows[i]] if i in rows else others[i][key] for i in range(len(positions))]
            decoded_crops = torch.stack(parts)
        batches[key] = decoded_crops.round_().clamp_(0, 255)
    return torch.tensor(positions), batches, torch.tensor(ok)


# Images resized together: a canvas holds at most as many pixels as 256 images of 512 x 512 (0.8 GB in
# float32); images are grouped by the longer side of their source windows in steps of 128, so that a few
# large photos do not widen the canvas of the many small ones (on 256 ImageNet photos, 41 million canvas
# pixels in 9 canvases, against 73 million in 3 with steps of 512).
CANVAS_PIXELS = 256 * 512 * 512
CANVAS_STEP = 128
# Half the width of each interpolation's kernel, in input pixels when upscaling (times the scale when
# downscaling, where torch antialiases).
_KERNEL_RADII = {"bicubic": 2.0, "bilinear": 1.0, "nearest-exact": 0.0}


def batched_centre_crops(images: list[Any], preprocessings: Sequence[Preprocessing], device: str) -> dict[str, Any]:
    """The centre crops of `centre_crops` for a list of (3, H, W) images of any sizes, by geometry key.

    Resizing is separable: each crop is Wy · image · Wxᵀ, with one row of weights per output pixel, computed
    as torch's antialiased interpolation computes them (`window_weights`). Images of similar sizes share a
    canvas (their weights are zero past each image) and each pass is one batched matrix product (float32),
    instead of several kernels per image and geometry: at a few microseconds of Python each, those held the
    decoding thread of an H100 worker to ~1,500 images/s. A canvas holds only the part of each image that its
    crops draw on (`source_window`), for an ImageNet photo about half of it. Returns (N, 3, S, S) float
    tensors holding unrounded values.
    """
    import torch

    geometries = {geometry_key(p.geometry): p for p in preprocessings}
    crops = {
        key: torch.empty((len(images), 3, p.input_size, p.input_size), device=device)
        for key, p in geometries.items()
    }
    if not images:  # a batch of files that all went through PIL
        return crops
    table_rows = [_geometry_row(index, image.shape[1:], geometries) for index, image in enumerate(images)]
    groups = _canvas_groups([_window_size(row) for row in table_rows])
    table_rows = [table_rows[index] for group in groups for index in group]  # a group: a slice of the table
    table = _to_device(table_rows, device)
    windows = _windows_by_geometry(table, table_rows, geometries)
    start = 0
    for group in groups:
        part = slice(start, start + len(group))
        canvas = _canvas(images, table_rows[part], device)
        height, width = canvas.shape[1], canvas.shape[3]
        for key, (vertical, horizontal) in windows.items():
            crop_rows = dense_weights(*(tensor[part] for tensor in vertical), table[part, _TOP], height)
            crop_columns = dense_weights(*(tensor[part] for tensor in horizontal), table[part, _LEFT], width)
            crops[key].index_copy_(0, table[part, 0], _resize_canvas(canvas, crop_rows, crop_columns))
        start = part.stop
    return crops


# Columns of a `_geometry_row`; each geometry's four values follow from _FIRST_GEOMETRY on.
_HEIGHT, _WIDTH, _TOP, _BOTTOM, _LEFT, _RIGHT, _FIRST_GEOMETRY = range(1, 8)


def _geometry_row(index: int, size: tuple[int, int], geometries: dict[str, Preprocessing]) -> list[int]:
    """[index, height, width, the source window's top, bottom, left, right (the union of every geometry's
    `source_window`), then resized width, resized height, left, top of each geometry]."""
    height, width = size
    placements = [(resized_geometry(width, height, p), p) for p in geometries.values()]
    vertical = [source_window(height, rh, top, p.input_size, p.interpolation) for (_, rh, _, top), p in placements]
    horizontal = [source_window(width, rw, left, p.input_size, p.interpolation) for (rw, _, left, _), p in placements]
    window = [min(w[0] for w in vertical), max(w[1] for w in vertical)]
    window += [min(w[0] for w in horizontal), max(w[1] for w in horizontal)]
    return [index, height, width, *window, *(value for placement, _ in placements for value in placement)]


def _window_size(row: list[int]) -> tuple[int, int]:
    return row[_BOTTOM] - row[_TOP], row[_RIGHT] - row[_LEFT]


def source_window(in_size: int, resized: int, offset: int, size: int, interpolation: str) -> tuple[int, int]:
    """[start, stop) of the input pixels that output pixels offset .. offset + size - 1 of resizing in_size
    pixels to `resized` weigh, with a pixel to spare on each side against rounding (`window_weights`
    computes the bounds on the device)."""
    scale = in_size / resized
    support = _support(in_size, resized, TORCH_MODES[interpolation])
    start = math.floor(scale * (offset + 0.5) - support + 0.5) - 1
    stop = math.floor(scale * (offset + size - 0.5) + support + 0.5) + 2
    return max(start, 0), min(stop, in_size)


def _to_device(rows: list[list[int]], device: str) -> Any:
    """An int64 tensor on `device`, copied from pinned memory without waiting for the device: a plain
    copy waits for the stream's queued kernels, which on a GPU busy with forward passes took most of the
    decoding thread's time."""
    import torch

    table = torch.tensor(rows, dtype=torch.int64)
    return table.pin_memory().to(device, non_blocking=True) if device.startswith("cuda") else table


def _canvas_groups(sizes: list[tuple[int, int]]) -> list[list[int]]:
    """Indices of `sizes` grouped by their longer side (steps of CANVAS_STEP), each within CANVAS_PIXELS."""
    by_step: dict[int, list[int]] = {}
    for index, (height, width) in enumerate(sizes):
        by_step.setdefault(-(-max(height, width) // CANVAS_STEP), []).append(index)
    groups = []
    for step, indices in sorted(by_step.items()):
        per_group = max(1, CANVAS_PIXELS // (step * CANVAS_STEP) ** 2)
        groups.extend(indices[start : start + per_group] for start in range(0, len(indices), per_group))
    return groups


def _windows_by_geometry(table: Any, rows: list[list[int]], geometries: dict[str, Preprocessing]) -> dict[str, Any]:
    """Per geometry key, the `window_weights` of every image's crop rows, then of its crop columns; `table`
    holds the `rows` (`_geometry_row`s) on the device."""
    windows = {}
    for number, (key, preprocessing) in enumerate(geometries.items()):
        column = _FIRST_GEOMETRY + 4 * number
        resized_w, resized_h, left, top = table[:, column : column + 4].unbind(1)
        size, mode = preprocessing.input_size, TORCH_MODES[preprocessing.interpolation]
        vertical_taps = max(window_taps(row[_HEIGHT], row[column + 1], mode) for row in rows)
        horizontal_taps = max(window_taps(row[_WIDTH], row[column], mode) for row in rows)
        windows[key] = (
            window_weights(table[:, _HEIGHT], resized_h, top, size, mode, vertical_taps),
            window_weights(table[:, _WIDTH], resized_w, left, size, mode, horizontal_taps),
        )
    return windows


def _canvas(images: list[Any], rows: list[list[int]], device: str) -> Any:
    """The source windows of the images of `rows`, each in the top-left corner of a (N, H, 3, W) float canvas."""
    import torch

    heights, widths = zip(*(_window_size(row) for row in rows), strict=True)
    canvas = torch.empty((len(rows), max(heights), 3, max(widths)), dtype=torch.uint8, device=device)
    for number, row in enumerate(rows):
        window = images[row[0]][:, row[_TOP] : row[_BOTTOM], row[_LEFT] : row[_RIGHT]]
        canvas[number, : window.shape[1], :, : window.shape[2]].copy_(window.permute(1, 0, 2))
    return canvas.float()


def _resize_canvas(canvas: Any, crop_rows: Any, crop_columns: Any) -> Any:
    """(N, 3, S, S) crops of a (N, H, 3, W) canvas, given (N, S, H) and (N, S, W) `dense_weights`."""
    import torch

    count, height, _, width = canvas.shape
    size = crop_rows.shape[1]
    resized_rows = torch.bmm(crop_rows, canvas.view(count, height, 3 * width))  # (N, S, 3W)
    crop = torch.bmm(resized_rows.view(count, size * 3, width), crop_columns.transpose(1, 2))  # (N, 3S, S)
    return crop.view(count, size, 3, size).permute(0, 2, 1, 3)


def window_taps(in_size: int, resized: int, mode: str) -> int:
    """How many input pixels one output pixel's weights span at most, as torch sizes the window."""
    return math.ceil(_support(in_size, resized, mode)) * 2 + 1


def _support(in_size: int, resized: int, mode: str) -> float:
    """How far from an output pixel's centre its weights reach, in input pixels."""
    return _KERNEL_RADII[mode] * max(in_size / resized, 1.0)


def window_weights(in_sizes: Any, resized: Any, offsets: Any, size: int, mode: str, taps: int) -> tuple[Any, Any]:
    """Output pixels offsets[n] .. offsets[n] + size - 1 of resizing image n's in_sizes[n] input pixels to
    resized[n], as F.interpolate(antialias=True) weighs them (bicubic with a = -0.5, bilinear;
    "nearest-exact" without antialiasing): the first input pixel of each one's window (N, size), and the
    float32 weights of the window's `taps` pixels (N, size, taps), zero past the window.

    `taps` is at least the largest `window_taps` of the images. Computed over every input pixel instead,
    the weights took ~27 float64 passes over (N, size, length) tensors: for a batch of 256 ImageNet photos
    and three geometries, ~100 GB of memory traffic by count, against ~1 GB now with `dense_weights`.
    """
    import torch

    device = in_sizes.device
    output = (offsets[:, None] + torch.arange(size, device=device))[:, :, None].double()
    if mode == "nearest-exact":  # in float32, as torch computes it: ties fall where torch's do
        single = (in_sizes.float() / resized.float())[:, None, None]
        nearest = torch.minimum(torch.floor((output.float() + 0.5) * single), in_sizes[:, None, None] - 1.0)
        return nearest[:, :, 0].long(), torch.ones_like(nearest)
    scale = (in_sizes.double() / resized.double())[:, None, None]
    kernel_radius = _KERNEL_RADII[mode]
    support = torch.where(scale >= 1.0, kernel_radius * scale, kernel_radius)
    inverse = torch.where(scale >= 1.0, 1.0 / scale, 1.0)
    centre = scale * (output + 0.5)
    first = torch.clamp(torch.trunc(centre - support + 0.5), min=0.0)
    stop = torch.minimum(torch.trunc(centre + support + 0.5), in_sizes[:, None, None].double())
    source = first + torch.arange(taps, device=device, dtype=torch.float64)
    distance = ((source - centre + 0.5) * inverse).abs()
    weights = _cubic(distance, a=-0.5) if mode == "bicubic" else torch.clamp(1.0 - distance, min=0.0)
    weights = weights * (source < stop)
    return first[:, :, 0].long(), (weights / weights.sum(dim=2, keepdim=True)).float()


def dense_weights(first: Any, weights: Any, starts: Any, length: int) -> Any:
    """(N, size, length) rows of `window_weights` over input pixels starts[n] .. starts[n] + length - 1
    (column j weighs input pixel starts[n] + j), zero elsewhere."""
    import torch

    index = (first - starts[:, None])[:, :, None] + torch.arange(weights.shape[2], device=first.device)
    dense = torch.zeros((*first.shape, length), device=first.device)
    return dense.scatter_add_(2, index.clamp_(max=length - 1), weights)  # taps past a window weigh 0


def _cubic(x: Any, a: float) -> Any:
    import torch

    near = ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0
    far = (((x - 5.0) * x + 8.0) * x - 4.0) * a
    return torch.where(x < 1.0, near, torch.where(x < 2.0, far, torch.zeros_like(x)))


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
