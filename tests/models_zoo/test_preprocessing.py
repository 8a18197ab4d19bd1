import numpy as np
import pytest
from PIL import Image

from models_zoo.inference import CropDataset, crop_box, geometry_key, load_crops
from models_zoo.registry import BUILTIN_MODELS, Preprocessing

LITE0 = Preprocessing(input_size=224, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))
LITE2 = Preprocessing(input_size=260, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))


def _gradient_jpeg(path, width=500, height=375):
    x = np.linspace(0, 255, width, dtype=np.float32)[None, :].repeat(height, 0)
    y = np.linspace(0, 255, height, dtype=np.float32)[:, None].repeat(width, 1)
    pixels = np.stack([x, y, 255 - x], axis=2).astype(np.uint8)
    Image.fromarray(pixels).save(path, quality=95)
    return pixels


def test_it_resizes_the_shorter_side_to_size_over_crop_pct_then_centre_crops():
    assert LITE0.resize_to == 256 and LITE2.resize_to == 297
    left, top, right, bottom = crop_box(500, 375, LITE0)
    scale = 256 / 375
    assert (right - left) == pytest.approx(224 / scale) and (bottom - top) == pytest.approx(224 / scale)
    assert (left + right) / 2 == pytest.approx(250, abs=1) and (top + bottom) / 2 == pytest.approx(187.5, abs=1)


def test_it_uses_the_papers_preprocessing_for_the_shipped_models():
    sizes = {spec.name: spec.preprocessing.input_size for spec in BUILTIN_MODELS}
    assert sizes == {"efficientnet_lite0": 224, "efficientnet_lite1": 240, "efficientnet_lite2": 260}
    assert all(s.preprocessing.mean == s.preprocessing.std == (0.5, 0.5, 0.5) for s in BUILTIN_MODELS)
    assert all(s.preprocessing.interpolation == "bicubic" for s in BUILTIN_MODELS)


def test_it_decodes_once_and_crops_each_geometry(tmp_path):
    pixels = _gradient_jpeg(tmp_path / "a.jpg")
    crops = load_crops(str(tmp_path / "a.jpg"), [LITE0, LITE2, LITE0])
    assert set(crops) == {geometry_key(LITE0.geometry), geometry_key(LITE2.geometry)}
    crop = crops[geometry_key(LITE0.geometry)]
    assert crop.shape == (3, 224, 224) and crop.dtype == np.uint8
    reference = np.asarray(
        Image.fromarray(pixels).resize((341, 256), Image.Resampling.BICUBIC).crop((58, 16, 282, 240))
    ).transpose(2, 0, 1)
    assert np.abs(crop.astype(int) - reference.astype(int)).mean() < 3


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
