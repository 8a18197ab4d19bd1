"""Serve uploaded image files: allow-listed image content types only, never HTML, never outside MEDIA_ROOT.

Two doors lead to the same files, with the same response headers:

- `MediaFiles` wraps the WSGI application (relabel/wsgi.py) and answers the common case — a GET or
  HEAD of an existing, allow-listed image under a plain name — before Django runs, the way whitenoise
  answers static files: one `stat`, the headers, and the open file handed to the server's
  `wsgi.file_wrapper` (gunicorn sends it with `sendfile`). A HIT page makes the browser fetch up to
  48 of these, so they are most of the requests a web process answers, and the full Django stack
  (request object, middleware, URL resolution) cost three times as much CPU as the file itself.
- `serve_media`, the Django view, answers everything else (odd names, missing files, other
  methods, hosts not allowed, plain-HTTP requests to redirect), so every refusal keeps Django's
  behaviour.

Files are content-addressed (`thumbnails/<dataset>/<sha[:2]>/<sha256>.jpg`), hence cached for a year
as immutable; the ETag lets a client revalidate anyway.
"""

import os
import re
import stat
from collections.abc import Callable, Iterable
from pathlib import PurePosixPath
from wsgiref.util import FileWrapper

from django.conf import settings
from django.core.files.storage import FileSystemStorage, default_storage
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseNotModified
from django.http.request import split_domain_port, validate_host
from django.utils._os import safe_join

from annotation.imagefiles import CONTENT_TYPES

URL_PREFIX = "media/"
CACHE_CONTROL = "public, max-age=31536000, immutable"
SANDBOX_CSP = "default-src 'none'; sandbox"
# The names the fast paths answer: segments of letters, digits, '_', '-' and '.', none starting with a dot.
PLAIN_NAME_PATTERN = r"(?:[A-Za-z0-9_-][A-Za-z0-9_.-]{0,254}/){0,16}[A-Za-z0-9_-][A-Za-z0-9_.-]{0,254}"
_PLAIN_NAME = re.compile(PLAIN_NAME_PATTERN)
_OPEN_FLAGS = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)

StartResponse = Callable[..., object]


def media_url(name: str) -> str:
    """`default_storage.url(name)`, without its `urljoin` for the plain names images are stored under.

    A CONTAINS page links 96 files, and `urljoin` was most of their cost. A plain name (see `_PLAIN_NAME`:
    no character that needs quoting, no "." or ".." segment) joins a file system storage's base URL that
    ends with "/" (as Django requires of MEDIA_URL) as it is; any other name or storage goes through `url()`.
    """
    if isinstance(default_storage, FileSystemStorage) and _PLAIN_NAME.fullmatch(name):
        base = default_storage.base_url
        if base and base.endswith("/"):
            return base + name
    return default_storage.url(name)


def image_headers(content_type: str, etag: str) -> dict[str, str]:
    """The headers of every served image (besides Content-Length), whichever door served it."""
    return {
        "Content-Type": content_type,
        "ETag": etag,
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": SANDBOX_CSP,
        "Content-Disposition": "inline",
        "Cache-Control": CACHE_CONTROL,
    }


def file_etag(info: os.stat_result) -> str:
    """A strong validator from size and modification time (stored files are never rewritten in place)."""
    return f'"{info.st_size:x}-{info.st_mtime_ns:x}"'


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """Whether an If-None-Match header names this ETag (or `*`)."""
    if not if_none_match:
        return False
    candidates = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in candidates or etag in candidates


def open_image(name: str) -> tuple[int, os.stat_result, str]:
    """(file descriptor, stat, content type) of an allow-listed regular file under MEDIA_ROOT.

    Raises Http404 for any other name. Opened non-blocking and checked with fstat, so a FIFO or a
    directory planted under MEDIA_ROOT is refused without blocking.
    """
    content_type = CONTENT_TYPES.get(PurePosixPath(name).suffix.lower())
    if content_type is None or "\x00" in name:
        raise Http404("not an image")
    try:
        descriptor = os.open(safe_join(settings.MEDIA_ROOT, name), _OPEN_FLAGS)
    except (ValueError, OSError) as exc:
        raise Http404("no such image") from exc
    info = os.fstat(descriptor)
    if not stat.S_ISREG(info.st_mode):
        os.close(descriptor)
        raise Http404("no such image")
    return descriptor, info, content_type


def serve_media(request: HttpRequest, path: str) -> HttpResponse:
    """Stream one stored image. Anything that is not an allow-listed image type is a 404."""
    descriptor, info, content_type = open_image(path)
    headers = image_headers(content_type, file_etag(info))
    if etag_matches(request.headers.get("If-None-Match"), headers["ETag"]):
        os.close(descriptor)
        del headers["Content-Type"]
        response = HttpResponseNotModified()
    else:
        response = FileResponse(os.fdopen(descriptor, "rb"), content_type=content_type)
    for header, value in headers.items():
        response[header] = value
    return response


class MediaFiles:
    """WSGI wrapper: answers plain GET/HEAD requests for stored images before Django (see the module doc).

    The headers that Django's middleware adds to every response (SecurityMiddleware: nosniff, HSTS on
    HTTPS, Referrer-Policy, Cross-Origin-Opener-Policy; XFrameOptionsMiddleware) are added here from
    the same settings, so both doors answer alike (tests/annotation/test_media_fast_path.py).
    """

    def __init__(self, application: Callable[[dict, StartResponse], Iterable[bytes]]) -> None:
        self.application = application
        self.prefix = "/" + URL_PREFIX
        self.allowed_hosts = media_allowed_hosts()
        self.enabled = media_fast_path_enabled()
        self.site_headers = site_headers()
        self.hsts = hsts_header()

    def __call__(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if self.enabled and path.startswith(self.prefix) and environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
            served = self._serve(environ, start_response, path[len(self.prefix):])
            if served is not None:
                return served
        return self.application(environ, start_response)

    def _serve(self, environ: dict, start_response: StartResponse, name: str) -> Iterable[bytes] | None:
        """The response body, or None to leave the request to Django."""
        if not _PLAIN_NAME.fullmatch(name) or not self._host_allowed(environ):
            return None
        secure = _is_secure(environ)
        if settings.SECURE_SSL_REDIRECT and not secure:
            return None
        try:
            descriptor, info, content_type = open_image(name)
        except Http404:
            return None
        headers = image_headers(content_type, file_etag(info))
        headers.update(self.site_headers)
        if secure and self.hsts:
            headers["Strict-Transport-Security"] = self.hsts
        if etag_matches(environ.get("HTTP_IF_NONE_MATCH"), headers["ETag"]):
            os.close(descriptor)
            del headers["Content-Type"]
            start_response("304 Not Modified", list(headers.items()))
            return []
        headers["Content-Length"] = str(info.st_size)
        start_response("200 OK", list(headers.items()))
        handle = os.fdopen(descriptor, "rb")
        if environ["REQUEST_METHOD"] == "HEAD":
            handle.close()
            return []
        return environ.get("wsgi.file_wrapper", FileWrapper)(handle, FileResponse.block_size)

    def _host_allowed(self, environ: dict) -> bool:
        domain, _ = split_domain_port(environ.get("HTTP_HOST", ""))
        return bool(domain) and validate_host(domain, self.allowed_hosts)


def _is_secure(environ: dict) -> bool:
    """HttpRequest.is_secure() from the WSGI environ (SECURE_PROXY_SSL_HEADER first)."""
    if settings.SECURE_PROXY_SSL_HEADER:
        header, secure_value = settings.SECURE_PROXY_SSL_HEADER
        value = environ.get(header)
        if value is not None:
            return value.split(",", 1)[0].strip() == secure_value
    return environ.get("wsgi.url_scheme") == "https"


def media_allowed_hosts() -> list[str]:
    """The hosts a fast path answers for: ALLOWED_HOSTS, or Django's own default while DEBUG is on."""
    return settings.ALLOWED_HOSTS or ([".localhost", "127.0.0.1", "[::1]"] if settings.DEBUG else [])


def media_fast_path_enabled() -> bool:
    """False where Django must see every request: user agents to refuse, or a host taken from X-Forwarded-Host."""
    return not settings.DISALLOWED_USER_AGENTS and not settings.USE_X_FORWARDED_HOST


def site_headers() -> dict[str, str]:
    """The headers Django's middleware adds to every response, from the same settings."""
    headers = {}
    if settings.SECURE_REFERRER_POLICY:
        policy = settings.SECURE_REFERRER_POLICY
        headers["Referrer-Policy"] = ",".join(
            [value.strip() for value in policy.split(",")] if isinstance(policy, str) else policy
        )
    if settings.SECURE_CROSS_ORIGIN_OPENER_POLICY:
        headers["Cross-Origin-Opener-Policy"] = settings.SECURE_CROSS_ORIGIN_OPENER_POLICY
    if "django.middleware.clickjacking.XFrameOptionsMiddleware" in settings.MIDDLEWARE:
        headers["X-Frame-Options"] = settings.X_FRAME_OPTIONS.upper()
    return headers


def hsts_header() -> str:
    """Strict-Transport-Security as SecurityMiddleware writes it over HTTPS; empty when HSTS is off."""
    if not settings.SECURE_HSTS_SECONDS:
        return ""
    value = f"max-age={settings.SECURE_HSTS_SECONDS}"
    if settings.SECURE_HSTS_INCLUDE_SUBDOMAINS:
        value += "; includeSubDomains"
    if settings.SECURE_HSTS_PRELOAD:
        value += "; preload"
    return value
