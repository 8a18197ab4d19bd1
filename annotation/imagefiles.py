"""Reading untrusted image files safely: size limits, format allow-list, thumbnails."""

import hashlib
import io
import warnings
from dataclasses import dataclass

from django.conf import settings
from PIL import Image as PILImage
from PIL import ImageMode, ImageOps, UnidentifiedImageError

ALLOWED_FORMATS = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp", "GIF": ".gif", "BMP": ".bmp", "TIFF": ".tif"}
CONTENT_TYPES = {
    ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".webp": "image/webp",
    ".gif": "image/gif", ".bmp": "image/bmp", ".tif": "image/tiff", ".tiff": "image/tiff",
}


class ImageRejected(Exception):
    """The file is not an image we accept; the message says why."""


@dataclass(frozen=True)
class CheckedImage:
    data: bytes
    sha256: str
    width: int
    height: int
    suffix: str
    thumbnail: bytes


def check_image(data: bytes) -> CheckedImage:
    """Validate image bytes fully (header, pixel limit, complete decode) and make a JPEG thumbnail."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", PILImage.DecompressionBombWarning)
            with PILImage.open(io.BytesIO(data)) as image:
                suffix = _allowed_suffix(image.format)
                _check_pixels(*image.size)
                _check_decoded_bytes(image)
                image.load()
                upright = ImageOps.exif_transpose(image)
                thumbnail = make_thumbnail(upright)
                width, height = upright.size
    except ImageRejected:
        raise
    except (UnidentifiedImageError, PILImage.DecompressionBombError, PILImage.DecompressionBombWarning) as exc:
        raise ImageRejected(_describe(exc)) from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageRejected(f"damaged or truncated image ({exc})") from exc
    return CheckedImage(data, hashlib.sha256(data).hexdigest(), width, height, suffix, thumbnail)


def make_thumbnail(image: PILImage.Image) -> bytes:
    """JPEG, longest side RELABEL_THUMBNAIL_SIZE, RGB whatever the input mode (CMYK, 16-bit, palette)."""
    size = settings.RELABEL_THUMBNAIL_SIZE
    if image.mode not in ("RGB", "L"):
        image = _to_rgb(image)
    image = image.copy()
    image.thumbnail((size, size), PILImage.Resampling.LANCZOS)
    out = io.BytesIO()
    image.convert("RGB").save(out, format="JPEG", quality=85, optimize=True)
    return out.getvalue()


def _to_rgb(image: PILImage.Image) -> PILImage.Image:
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        return image.point(lambda value: value / 256).convert("L")
    if image.mode in ("RGBA", "LA", "P", "PA"):
        rgba = image.convert("RGBA")
        background = PILImage.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")


def _allowed_suffix(image_format: str | None) -> str:
    if image_format not in ALLOWED_FORMATS:
        allowed = ", ".join(sorted(ALLOWED_FORMATS))
        raise ImageRejected(f"unsupported image format {image_format or 'unknown'} (allowed: {allowed})")
    return ALLOWED_FORMATS[image_format]


def _check_pixels(width: int, height: int) -> None:
    limit = settings.RELABEL_MAX_IMAGE_PIXELS
    if width * height > limit:
        raise ImageRejected(
            f"image is {width}x{height} = {width * height} pixels, over the limit of {limit} "
            "(possible decompression bomb; raise RELABEL_MAX_IMAGE_PIXELS if it is genuine)"
        )


def decoded_bytes(image: PILImage.Image) -> int:
    """The bytes a full decode holds: pixels * bands * bytes per band (16-bit PNGs count twice)."""
    mode = ImageMode.getmode(image.mode)
    return image.width * image.height * len(mode.bands) * int(mode.typestr[-1])


def _check_decoded_bytes(image: PILImage.Image) -> None:
    limit = settings.RELABEL_MAX_IMAGE_DECODED_BYTES
    size = decoded_bytes(image)
    if size > limit:
        raise ImageRejected(
            f"image decodes to {size} bytes ({image.width}x{image.height}, mode {image.mode}), over the limit of "
            f"{limit} (raise RELABEL_MAX_IMAGE_DECODED_BYTES if it is genuine)"
        )


def _describe(exc: Exception) -> str:
    if isinstance(exc, UnidentifiedImageError):
        return "not an image file (cannot identify the format)"
    return f"image over the pixel limit (decompression bomb?): {exc}"
