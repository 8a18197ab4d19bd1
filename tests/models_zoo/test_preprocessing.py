import re

import numpy as np
import pytest
from PIL import Image

from models_zoo.geometry import geometry_key, resized_geometry
from models_zoo.inference import CropDataset, load_crops
from models_zoo.registry import BUILTIN_MODELS, Preprocessing

LITE0 = Preprocessing(input_size=224, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))
LITE2 = Preprocessing(input_size=260, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))


def _gradient_jpeg(path, width=500, height=375) -> None:
    x = np.linspace(0, 255, width, dtype=np.float32)[None, :].repeat(height, 0)
    y = np.linspace(0, 255, height, dtype=np.float32)[:, None].repeat(width, 1)
    pixels = np.stack([x, y, 255 - x], axis=2).astype(np.uint8)
    Image.fromarray(pixels).save(path, quality=95)


def test_it_resizes_the_shorter_side_to_size_over_crop_pct_then_centre_crops():
    assert LITE0.resize_to == 256 and LITE2.resize_to == 297
    assert resized_geometry(500, 375, LITE0) == (341, 256, 58, 16)  # torchvision: int(256 * 500 / 375) = 341
    assert resized_geometry(375, 500, LITE0) == (256, 341, 16, 58)
    assert resized_geometry(256, 256, LITE0) == (256, 256, 16, 16)


def _reference_crop(pixels, width, height, left, top, size, resample=Image.Resampling.BICUBIC):
    """timm's eval transform on a PIL image: resize the whole image, then crop."""
    resized = Image.fromarray(pixels).resize((width, height), resample)
    return np.asarray(resized.crop((left, top, left + size, top + size))).transpose(2, 0, 1).astype(int)


def test_it_uses_the_papers_preprocessing_for_the_shipped_models():
    sizes = {spec.name: spec.preprocessing.input_size for spec in BUILTIN_MODELS}
    assert sizes == {"efficientnet_lite0": 224, "efficientnet_lite1": 240, "efficientnet_lite2": 260}
    assert all(s.preprocessing.mean == s.preprocessing.std == (0.5, 0.5, 0.5) for s in BUILTIN_MODELS)
    assert all(s.preprocessing.interpolation == "bicubic" for s in BUILTIN_MODELS)


def test_it_decodes_once_and_crops_each_geometry(tmp_path):
    _gradient_jpeg(tmp_path / "a.jpg")
    crops = load_crops(str(tmp_path / "a.jpg"), [LITE0, LITE2, LITE0])
    assert set(crops) == {geometry_key(LITE0.geometry), geometry_key(LITE2.geometry)}
    crop = crops[geometry_key(LITE0.geometry)]
    assert crop.shape == (3, 224, 224) and crop.dtype == np.uint8
    decoded = np.asarray(Image.open(tmp_path / "a.jpg").convert("RGB"))
    assert np.abs(crop.astype(int) - _reference_crop(decoded, 341, 256, 58, 16, 224)).max() <= 2


@pytest.mark.parametrize(("interpolation", "resample"), [
    ("bicubic", Image.Resampling.BICUBIC),
    ("bilinear", Image.Resampling.BILINEAR),
    ("nearest", Image.Resampling.NEAREST),
    ("lanczos", Image.Resampling.LANCZOS),
])
def test_every_interpolation_crops_as_pil_resizes_and_crops(tmp_path, interpolation, resample):
    _gradient_jpeg(tmp_path / "tall.png", width=300, height=420)
    preprocessing = Preprocessing(input_size=200, crop_pct=0.9, interpolation=interpolation)
    crop = load_crops(str(tmp_path / "tall.png"), [preprocessing])[geometry_key(preprocessing.geometry)]
    decoded = np.asarray(Image.open(tmp_path / "tall.png").convert("RGB"))
    width, height, left, top = resized_geometry(300, 420, preprocessing)
    assert (width, height) == (222, 310)
    assert np.abs(crop.astype(int) - _reference_crop(decoded, width, height, left, top, 200, resample)).max() <= 2


def test_small_images_are_upscaled_to_the_crop(tmp_path):
    Image.fromarray(np.full((30, 40, 3), 90, dtype=np.uint8)).save(tmp_path / "tiny.png")
    crop = load_crops(str(tmp_path / "tiny.png"), [LITE0])[geometry_key(LITE0.geometry)]
    assert crop.shape == (3, 224, 224) and np.abs(crop.astype(int) - 90).max() <= 1


@pytest.mark.parametrize(("options", "message"), [
    ({"interpolation": "area"}, "interpolation 'area': use one of bicubic, bilinear, nearest, lanczos"),
    ({"crop_pct": 1.2}, "0 < crop_pct <= 1"),
    ({"input_size": 0}, "need input_size >= 1"),
])
def test_unusable_preprocessing_is_refused_with_the_reason(options, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        Preprocessing(**{"input_size": 224, **options})


def test_it_downscales_large_jpegs_while_decoding(tmp_path):
    _gradient_jpeg(tmp_path / "big.jpg", width=2000, height=1500)
    crops = load_crops(str(tmp_path / "big.jpg"), [LITE0])
    assert crops[geometry_key(LITE0.geometry)].shape == (3, 224, 224)
    with Image.open(tmp_path / "big.jpg") as image:
        image.draft("RGB", (256, 256))
        assert min(image.size) >= 256 and image.size[0] <= 1000


def test_it_flags_undecodable_files_instead_of_failing_the_batch(tmp_path):
    (tmp_path / "bad.jpg").write_bytes(b"not a jpeg")
    _gradient_jpeg(tmp_path / "good.jpg")
    dataset = CropDataset([str(tmp_path / "bad.jpg"), str(tmp_path / "good.jpg")], [LITE0])
    assert dataset[0][2] is False and dataset[0][1][geometry_key(LITE0.geometry)].shape == (3, 224, 224)
    assert dataset[1][2] is True


@pytest.mark.models
def test_thread_pool_batches_equal_loader_process_batches(tmp_path):
    from tests.requirements import require_models

    require_models()
    import torch

    from models_zoo.inference import InferenceConfig, make_loader

    paths = []
    for number in range(11):  # not a multiple of the batch size nor of the decode group
        _gradient_jpeg(tmp_path / f"{number}.jpg", width=300 + 17 * number, height=260 + 5 * number)
        paths.append(str(tmp_path / f"{number}.jpg"))
    (tmp_path / "bad.jpg").write_bytes(b"not a jpeg")
    paths.insert(5, str(tmp_path / "bad.jpg"))
    dataset = CropDataset(paths, [LITE0, LITE2])
    threaded = list(make_loader(dataset, InferenceConfig(batch_size=4, workers=0)))
    processes = list(make_loader(dataset, InferenceConfig(batch_size=4, workers=2)))
    assert len(threaded) == len(processes) == 3
    for (positions, crops, ok), (positions2, crops2, ok2) in zip(threaded, processes, strict=True):
        assert torch.equal(positions, positions2) and torch.equal(ok, ok2)
        assert crops.keys() == crops2.keys()
        assert all(torch.equal(crops[key], crops2[key]) for key in crops)
    assert [bool(flag) for _, _, ok in threaded for flag in ok] == [True] * 5 + [False] + [True] * 6
