"""annotation.media.MediaFiles: stored images answered before Django, exactly as the Django view answers them."""

import os
from dataclasses import dataclass
from wsgiref.util import setup_testing_defaults

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.handlers.wsgi import WSGIHandler

from annotation.media import MediaFiles
from tests.images import jpeg_bytes

pytestmark = pytest.mark.django_db

NAME = "thumbnails/1/ab/abc.jpg"


@dataclass
class Answer:
    status: str
    headers: dict[str, str]
    body: bytes
    by_django: bool


class RecordingDjango:
    """The real Django WSGI handler, noting whether a request reached it."""

    def __init__(self) -> None:
        self.handler = WSGIHandler()
        self.calls = 0

    def __call__(self, environ, start_response):
        self.calls += 1
        return self.handler(environ, start_response)


def call(app, path: str, method: str = "GET", **extra: str) -> Answer:
    environ = {"PATH_INFO": path, "REQUEST_METHOD": method, "HTTP_HOST": "testserver", **extra}
    setup_testing_defaults(environ)
    django = app.application if isinstance(app, MediaFiles) else app
    before = django.calls
    started = {}

    def start_response(status, headers, exc_info=None):
        started["status"], started["headers"] = status, {name.lower(): value for name, value in headers}

    chunks = app(environ, start_response)
    body = b"".join(chunks)
    getattr(chunks, "close", lambda: None)()
    return Answer(started["status"], started["headers"], body, django.calls > before)


@pytest.fixture
def stored():
    return default_storage.save(NAME, ContentFile(jpeg_bytes()))


def test_it_answers_before_django_with_the_views_headers_and_bytes(stored):
    django = RecordingDjango()
    fast, slow = call(MediaFiles(django), f"/media/{stored}"), call(django, f"/media/{stored}")
    assert not fast.by_django and slow.by_django
    assert fast.status == slow.status == "200 OK"
    assert fast.headers == slow.headers
    assert fast.body == slow.body == default_storage.open(stored).read()
    assert fast.headers["content-type"] == "image/jpeg"
    assert fast.headers["x-content-type-options"] == "nosniff"
    assert fast.headers["content-security-policy"] == "default-src 'none'; sandbox"
    assert fast.headers["x-frame-options"] == "DENY"


def test_it_sends_hsts_over_https_like_the_view(stored, settings):
    settings.SECURE_HSTS_SECONDS = 600
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    django = RecordingDjango()
    path, proto = f"/media/{stored}", {"HTTP_X_FORWARDED_PROTO": "https"}
    fast, slow = call(MediaFiles(django), path, **proto), call(django, path, **proto)
    assert not fast.by_django
    assert fast.headers == slow.headers
    assert fast.headers["strict-transport-security"].startswith("max-age=600")


@pytest.mark.parametrize(
    "path",
    ["x.html", "x.svg", "../../etc/passwd", "..%2f..%2fetc%2fpasswd.jpg", "../secret.jpg", "missing.jpg", "thumbnails"],
)
def test_it_leaves_every_refusal_to_django(path, tmp_path, settings):
    (tmp_path / "secret.jpg").write_bytes(jpeg_bytes())
    settings.MEDIA_ROOT = tmp_path / "media"
    default_storage.save(NAME, ContentFile(jpeg_bytes()))
    default_storage.save("x.html", ContentFile(b"<script>alert(1)</script>"))
    answer = call(MediaFiles(RecordingDjango()), f"/media/{path}")
    assert answer.by_django
    assert answer.status.startswith(("400", "404"))


@pytest.mark.parametrize("path", [".hidden.jpg", "thumbnails/1/ab/abc.jpg/", "thumbnails//1/ab/abc.jpg"])
def test_it_leaves_names_that_are_not_plain_to_django(stored, path):
    default_storage.save(".hidden.jpg", ContentFile(jpeg_bytes()))
    assert call(MediaFiles(RecordingDjango()), f"/media/{path}").by_django


def test_it_refuses_a_fifo_without_blocking(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    os.mkfifo(tmp_path / "pipe.jpg")
    answer = call(MediaFiles(RecordingDjango()), "/media/pipe.jpg")
    assert answer.by_django and answer.status.startswith("404")


def test_it_leaves_other_methods_and_unknown_hosts_to_django(stored):
    app = MediaFiles(RecordingDjango())
    assert call(app, f"/media/{stored}", method="POST").by_django
    wrong_host = call(app, f"/media/{stored}", HTTP_HOST="evil.example")
    assert wrong_host.by_django and wrong_host.status.startswith("400")


def test_it_leaves_plain_http_to_djangos_redirect(stored, settings):
    settings.SECURE_SSL_REDIRECT = True
    answer = call(MediaFiles(RecordingDjango()), f"/media/{stored}")
    assert answer.by_django and answer.status.startswith("301")


def test_it_answers_head_without_a_body(stored):
    answer = call(MediaFiles(RecordingDjango()), f"/media/{stored}", method="HEAD")
    assert not answer.by_django
    assert answer.status == "200 OK" and answer.body == b""
    assert int(answer.headers["content-length"]) == default_storage.size(stored)


def test_it_answers_a_matching_etag_with_304_through_both_doors(stored):
    django = RecordingDjango()
    app = MediaFiles(django)
    etag = call(app, f"/media/{stored}").headers["etag"]
    fast = call(app, f"/media/{stored}", HTTP_IF_NONE_MATCH=etag)
    slow = call(django, f"/media/{stored}", HTTP_IF_NONE_MATCH=etag)
    assert fast.status == slow.status == "304 Not Modified"
    assert fast.body == slow.body == b""
    slow.headers.pop("content-length")  # Django's CommonMiddleware adds 0 to every 304
    assert fast.headers == slow.headers
    assert "content-type" not in fast.headers
    assert call(app, f"/media/{stored}", HTTP_IF_NONE_MATCH='"other"').status == "200 OK"
