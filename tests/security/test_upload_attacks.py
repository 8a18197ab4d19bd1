"""Hostile image files on import, beyond tests/annotation/test_import_bad_input.py: a JPEG/HTML
polyglot, a decompression bomb at the default limit, traversal in class-folder names."""

import struct
import zlib

import pytest
from django.conf import settings
from PIL import Image as PILImage

from annotation.importer import import_images
from annotation.models import Image
from annotation.taxonomy import load_taxonomy
from tests.images import jpeg_bytes, write_image

pytestmark = pytest.mark.django_db

HTML = b"<html><body><script>alert(1)</script></body></html>"


@pytest.fixture(autouse=True)
def _taxonomy():
    load_taxonomy()


def _png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width x height pixels (a decompression bomb's calling card)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    rows = zlib.compress(b"\x00" * (width + 1) * 2)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")


def test_a_jpeg_with_html_appended_imports_as_an_image_and_is_served_as_one(tmp_path, client):
    (tmp_path / "n01440764_polyglot.jpg").write_bytes(jpeg_bytes() + HTML)
    assert import_images("poly", tmp_path).imported == 1
    image = Image.objects.get()
    assert image.file.name.endswith(".jpg")
    for field in (image.file, image.thumbnail):
        response = client.get(field.url)
        assert b"".join(response.streaming_content)
        assert response["Content-Type"] == "image/jpeg"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert "sandbox" in response["Content-Security-Policy"]
        assert response["Content-Disposition"] == "inline"
    assert HTML not in image.thumbnail.read()  # thumbnails are re-encoded pixels only


def test_an_html_name_for_an_image_is_served_under_an_image_suffix(tmp_path, client):
    (tmp_path / "n01440764_page.html").write_bytes(jpeg_bytes())
    summary = import_images("named", tmp_path)
    assert summary.imported == 0 and "not an image file name" in dict(summary.rejected)["n01440764_page.html"]


def test_a_decompression_bomb_is_refused_at_the_default_limit(tmp_path):
    assert settings.RELABEL_MAX_IMAGE_PIXELS <= PILImage.MAX_IMAGE_PIXELS
    (tmp_path / "n01440764_bomb.png").write_bytes(_png_claiming(20_000, 20_000))
    summary = import_images("bomb", tmp_path)
    assert summary.imported == 0
    assert "pixel" in dict(summary.rejected)["n01440764_bomb.png"]


def test_a_bomb_just_over_the_limit_is_refused_before_decoding(tmp_path, settings):
    settings.RELABEL_MAX_IMAGE_PIXELS = 10_000
    (tmp_path / "n01440764_edge.png").write_bytes(_png_claiming(101, 100))
    (tmp_path / "n01440764_ok.png").write_bytes(_png_claiming(100, 100))
    summary = import_images("edge", tmp_path)
    assert summary.imported == 1 and "over the limit of 10000" in dict(summary.rejected)["n01440764_edge.png"]


@pytest.mark.parametrize("name", ["n01440764_%2e%2e%2fescape.jpg", "n01440764_..%2fescape.jpg",
                                  "n01440764_a\\..\\..\\escape.jpg"])
def test_encoded_traversal_in_file_names_is_a_literal_name_and_storage_is_content_addressed(tmp_path, name):
    root = tmp_path / "root"
    write_image(root / name, (9, 9, 9))
    write_image(tmp_path / "escape.jpg", (200, 0, 0))
    summary = import_images("names", root)
    image = Image.objects.get()
    assert summary.imported == 1 and image.external_id == name
    assert image.file.name == f"images/{image.dataset_id}/{image.sha256[:2]}/{image.sha256}.jpg"
    assert (settings.MEDIA_ROOT / image.file.name).resolve().is_relative_to(settings.MEDIA_ROOT.resolve())
