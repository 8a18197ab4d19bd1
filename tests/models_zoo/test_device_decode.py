"""Decoding on the inference device (models_zoo.device_decode), exercised on the CPU device.

torchvision decodes and torch resizes on the CPU with the same calls as on a GPU, so everything but
nvJPEG itself runs here; the H100 runs are in docs/benchmarks.md.
"""

import io

import numpy as np
import pytest
from PIL import Image

import models_zoo.device_decode as device_decode
from models_zoo.device_decode import batched_centre_crops, decode_span, device_batches, fits_device, jpeg_frame
from models_zoo.geometry import TORCH_MODES, geometry_key
from models_zoo.inference import CropDataset, InferenceConfig, centre_crops, load_crops, make_loader
from models_zoo.registry import Preprocessing

LITE0 = Preprocessing(input_size=224, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))
LITE2 = Preprocessing(input_size=260, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))


def _photo(width=500, height=375, mode="RGB"):
    x = np.linspace(0, 255, width, dtype=np.float32)[None, :].repeat(height, 0)
    y = np.linspace(0, 255, height, dtype=np.float32)[:, None].repeat(width, 1)
    rings = 127 + 120 * np.sin(np.hypot(x - 250, y - 180) / 9)
    image = Image.fromarray(np.stack([x, rings, 255 - y], axis=2).astype(np.uint8))
    return image.convert(mode)


def _encoded(image, fmt="JPEG", **options):
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def test_it_reads_size_and_components_from_the_frame_header():
    assert jpeg_frame(_encoded(_photo(500, 375))) == (0xC0, 500, 375, 3)
    assert jpeg_frame(_encoded(_photo(64, 48, "L"))) == (0xC0, 64, 48, 1)
    assert jpeg_frame(_encoded(_photo(64, 48), progressive=True))[0] == 0xC2


@pytest.mark.parametrize("data", [
    _encoded(_photo(64, 48), "PNG"),
    _encoded(_photo(64, 48, "CMYK")),
    _encoded(_photo(64, 48), progressive=True),
    _encoded(_photo(64, 48))[:40],
    b"",
], ids=["png", "cmyk", "progressive", "truncated", "empty"])
def test_files_the_batched_decoder_cannot_take_go_to_pil(data):
    assert not fits_device(data)


def test_it_leaves_images_over_the_pixel_limit_to_pil():
    data = _encoded(_photo(500, 375))
    assert fits_device(data, max_pixels=500 * 375) and not fits_device(data, max_pixels=500 * 375 - 1)


def test_device_crops_match_the_cpu_crops(tmp_path):
    path = tmp_path / "a.jpg"
    path.write_bytes(_encoded(_photo(), quality=95))
    _, crops, ok = decode_span(CropDataset([str(path)], [LITE0, LITE2]), (0, 1), "cpu")
    assert ok.tolist() == [True]
    reference = load_crops(str(path), [LITE0, LITE2])
    for preprocessing in (LITE0, LITE2):
        key = geometry_key(preprocessing.geometry)
        crop = crops[key][0].numpy()
        assert crop.shape == reference[key].shape and crop.min() >= 0 and crop.max() <= 255
        assert np.array_equal(crop, np.round(crop))
        assert np.abs(crop - reference[key]).max() <= 1  # float against uint8 resizing


def test_other_files_decode_through_pil_and_unreadable_ones_are_flagged(tmp_path):
    (tmp_path / "photo.png").write_bytes(_encoded(_photo(), "PNG"))
    (tmp_path / "cmyk.jpg").write_bytes(_encoded(_photo(mode="CMYK")))
    (tmp_path / "broken.jpg").write_bytes(_encoded(_photo())[:600])
    (tmp_path / "good.jpg").write_bytes(_encoded(_photo()))
    names = ["photo.png", "cmyk.jpg", "broken.jpg", "missing.jpg", "good.jpg"]
    dataset = CropDataset([str(tmp_path / name) for name in names], [LITE0])
    positions, crops, ok = decode_span(dataset, (0, len(names)), "cpu")
    assert positions.tolist() == [0, 1, 2, 3, 4]
    assert ok.tolist() == [True, True, False, False, True]
    batch = crops[geometry_key(LITE0.geometry)]
    assert tuple(batch.shape) == (5, 3, 224, 224)
    png_reference = load_crops(str(tmp_path / "photo.png"), [LITE0])[geometry_key(LITE0.geometry)]
    assert np.array_equal(batch[0].numpy(), png_reference)


def test_a_batch_without_a_file_for_the_device_decoder_comes_from_pil(tmp_path):
    (tmp_path / "photo.png").write_bytes(_encoded(_photo(), "PNG"))
    (tmp_path / "progressive.jpg").write_bytes(_encoded(_photo(), progressive=True))
    paths = [str(tmp_path / "photo.png"), str(tmp_path / "progressive.jpg")]
    _, crops, ok = decode_span(CropDataset(paths, [LITE0]), (0, 2), "cpu")
    assert ok.tolist() == [True, True]
    key = geometry_key(LITE0.geometry)
    for row, path in enumerate(paths):
        assert np.array_equal(crops[key][row].numpy(), load_crops(path, [LITE0])[key])


def test_batches_come_in_order_with_a_short_last_one(tmp_path):
    paths = []
    for number in range(5):
        paths.append(str(tmp_path / f"{number}.jpg"))
        (tmp_path / f"{number}.jpg").write_bytes(_encoded(_photo(200 + 10 * number, 150)))
    dataset = CropDataset(paths, [LITE0])
    batches = list(device_batches(dataset, 2, "cpu"))
    assert [positions.tolist() for positions, _, _ in batches] == [[0, 1], [2, 3], [4]]
    assert all(ok.all() for _, _, ok in batches)
    loader = list(make_loader(dataset, InferenceConfig(device="cpu", batch_size=2, device_decode=True)))
    assert [positions.tolist() for positions, _, _ in loader] == [[0, 1], [2, 3], [4]]


@pytest.mark.parametrize("interpolation", ["bicubic", "bilinear", "nearest"])
def test_batched_crops_equal_each_image_resized_on_its_own(interpolation, monkeypatch):
    import torch

    monkeypatch.setattr(device_decode, "CANVAS_PIXELS", 3 * 512 * 512)  # several canvases per size step
    generator = torch.Generator().manual_seed(7)
    sizes = [(375, 500), (500, 333), (40, 30), (224, 224), (300, 300), (700, 1100), (2000, 600), (333, 500), (90, 600)]
    images = [torch.randint(0, 256, (3, h, w), dtype=torch.uint8, generator=generator) for h, w in sizes]
    preprocessings = [
        Preprocessing(input_size=size, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5), interpolation=interpolation)
        for size in (224, 240, 260)
    ]
    crops = batched_centre_crops(images, preprocessings, "cpu")
    for index, image in enumerate(images):
        for key, reference in centre_crops(image[None].float(), preprocessings).items():
            assert crops[key][index].shape == reference.shape
            assert (crops[key][index] - reference).abs().max() < 0.05, (sizes[index], key)


RESIZES = [(2000, 256, 16), (1100, 274, 25), (500, 297, 3), (333, 256, 0), (37, 300, 40), (260, 260, 0), (4096, 240, 8)]


def _torch_crop_weights(interpolation, in_size, out_size, offset):
    """torch's weights of the 224 output pixels from `offset` on, (224, in_size): column j is what
    F.interpolate makes of input pixel j lit alone; and the source window of those pixels."""
    import torch
    import torch.nn.functional as F

    mode = TORCH_MODES[interpolation]
    # lit pixels as rows: resizing (N, 1, L, 1) columns gave every output pixel the first one's weights here
    lit = torch.eye(in_size).view(in_size, 1, 1, in_size)
    weights = F.interpolate(lit, size=(1, out_size), mode=mode, antialias=mode != "nearest-exact")[:, 0, 0].T
    return weights[offset : offset + 224], device_decode.source_window(in_size, out_size, offset, 224, interpolation)


@pytest.mark.parametrize("interpolation", ["bicubic", "bilinear", "nearest"])
@pytest.mark.parametrize(("in_size", "out_size", "offset"), RESIZES)
def test_the_source_window_holds_every_input_pixel_the_crop_weighs(interpolation, in_size, out_size, offset):
    weights, (start, stop) = _torch_crop_weights(interpolation, in_size, out_size, offset)
    weighed = weights.abs().sum(0).nonzero().flatten()
    first, last = int(weighed[0]), int(weighed[-1])
    assert start <= first and last < stop
    taps = device_decode.window_taps(in_size, out_size, TORCH_MODES[interpolation])
    assert stop - start <= last - first + taps + 3


@pytest.mark.parametrize("interpolation", ["bicubic", "bilinear", "nearest"])
@pytest.mark.parametrize(("in_size", "out_size", "offset"), RESIZES)
def test_window_weights_are_the_weights_torch_resizes_with(interpolation, in_size, out_size, offset):
    import torch

    expected, (start, stop) = _torch_crop_weights(interpolation, in_size, out_size, offset)
    mode = TORCH_MODES[interpolation]
    sizes = (torch.tensor([value]) for value in (in_size, out_size, offset))
    first, weights = device_decode.window_weights(*sizes, 224, mode, device_decode.window_taps(in_size, out_size, mode))
    length = stop - start + 7  # a canvas wider than this image's window: the rest of its rows stays zero
    dense = device_decode.dense_weights(first, weights, torch.tensor([start]), length)[0]
    assert torch.allclose(dense[: len(expected), : stop - start], expected[:, start:stop], atol=2e-5)
    assert not dense[len(expected) :].any() and not dense[:, stop - start :].any()


def test_images_share_canvases_by_size_and_a_large_one_does_not_widen_the_small_ones(monkeypatch):
    monkeypatch.setattr(device_decode, "CANVAS_PIXELS", 3 * 512 * 512)
    sizes = [(375, 500), (2000, 600), (500, 333), (640, 480), (300, 300), (333, 500)]
    assert device_decode._canvas_groups(sizes) == [[4], [0, 2, 5], [3], [1]]
