"""Small image files made on the fly for tests."""

import io
from pathlib import Path

from PIL import Image


def jpeg_bytes(color: tuple[int, int, int] = (200, 30, 30), size: tuple[int, int] = (64, 48), **save) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format="JPEG", **save)
    return out.getvalue()


def write_image(path: Path, color: tuple[int, int, int] = (200, 30, 30), size: tuple[int, int] = (64, 48)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(jpeg_bytes(color, size))
    return path
