"""Serve uploaded image files: allow-listed image content types only, never HTML, never outside MEDIA_ROOT."""


from pathlib import PurePosixPath

from django.conf import settings
from django.http import FileResponse, Http404, HttpRequest
from django.utils._os import safe_join

from annotation.imagefiles import CONTENT_TYPES


def serve_media(request: HttpRequest, path: str) -> FileResponse:
    """Stream one stored image. Anything that is not an allow-listed image type is a 404."""
    suffix = PurePosixPath(path).suffix.lower()
    content_type = CONTENT_TYPES.get(suffix)
    if content_type is None or "\x00" in path:
        raise Http404("not an image")
    try:
        full_path = safe_join(settings.MEDIA_ROOT, path)
        handle = open(full_path, "rb")  # noqa: SIM115 - FileResponse closes it
    except (ValueError, OSError) as exc:
        raise Http404("no such image") from exc
    response = FileResponse(handle, content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Content-Disposition"] = "inline"
    response["Cache-Control"] = "public, max-age=31536000, immutable"
    return response



