"""annotation.media_proxy: nginx, run with the written config in front of Django, answers stored images with
Django's headers and bytes, and hands Django everything it must refuse or redirect."""

import http.client
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.handlers.wsgi import WSGIHandler
from django.core.management import CommandError, call_command

from annotation.media import MediaFiles
from annotation.media_proxy import nginx_config
from tests.images import jpeg_bytes
from tests.requirements import free_port, port_open, require_nginx

pytestmark = pytest.mark.django_db(transaction=True)

NAME = "thumbnails/1/ab/abc.jpg"
# Headers one door writes and the other does not, whatever the file: the connection's and nginx's validators.
DOOR_HEADERS = {"date", "server", "connection", "keep-alive", "etag", "last-modified", "accept-ranges"}


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


def ask(port: int, path: str, method: str = "GET", host: str = "127.0.0.1", **headers: str) -> Answer:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request(method, path, headers={"Host": host, **headers})
    response = connection.getresponse()
    answer = Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
    connection.close()
    return answer


def same_headers(answer: Answer) -> dict[str, str]:
    return {name: value for name, value in answer.headers.items() if name not in DOOR_HEADERS}


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def web_settings(settings):
    settings.DEBUG = False
    settings.ALLOWED_HOSTS = ["127.0.0.1", ".relabel.test"]
    settings.SECURE_SSL_REDIRECT = False
    settings.SECURE_HSTS_SECONDS = 0
    return settings


@pytest.fixture
def start_web(web_settings) -> Iterator:
    """The deployed WSGI application (annotation.media's fast path around Django), as gunicorn runs it."""
    servers = []

    def start() -> int:
        server = make_server("127.0.0.1", 0, MediaFiles(WSGIHandler()), _ThreadingWSGIServer, _QuietHandler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server.server_port

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def start_nginx(start_web, tmp_path) -> Iterator:
    """nginx with the written config in front of a fresh web process; returns (nginx's port, the web's port)."""
    nginx = require_nginx()
    processes = []

    def start() -> tuple[int, int]:
        django_port, port = start_web(), free_port()
        (tmp_path / "nginx").mkdir(exist_ok=True)
        config = tmp_path / "nginx" / "nginx.conf"
        config.write_text(nginx_config(
            f"127.0.0.1:{django_port}", f"127.0.0.1:{port}", pid=str(tmp_path / "nginx" / "pid"),
            temp_dir=str(tmp_path / "nginx"), user="root" if os.geteuid() == 0 else None,
        ))
        process = subprocess.Popen([nginx, "-c", str(config), "-p", str(tmp_path / "nginx"), "-g", "daemon off;"],
                                   stderr=subprocess.PIPE)
        processes.append(process)
        deadline = time.monotonic() + 10
        while not port_open("127.0.0.1", port):
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"nginx did not start: {process.stderr.read().decode()}")
            time.sleep(0.05)
        return port, django_port

    yield start
    for process in processes:
        process.send_signal(signal.SIGQUIT)
        process.wait(timeout=10)


@pytest.fixture
def stored() -> str:
    return default_storage.save(NAME, ContentFile(jpeg_bytes()))


def test_nginx_answers_an_image_itself_with_the_webs_headers_and_bytes(stored, start_nginx):
    port, web_port = start_nginx()
    proxied, direct = ask(port, f"/media/{stored}"), ask(web_port, f"/media/{stored}")
    assert proxied.status == direct.status == 200
    assert "last-modified" in proxied.headers and "last-modified" not in direct.headers  # nginx answered itself
    assert same_headers(proxied) == same_headers(direct)
    assert proxied.body == direct.body == default_storage.open(stored).read()
    head = ask(port, f"/media/{stored}", method="HEAD")
    assert head.status == 200 and head.body == b"" and same_headers(head) == same_headers(proxied)


def test_a_client_revalidates_with_the_etag_nginx_gave(stored, start_nginx):
    port, _ = start_nginx()
    etag = ask(port, f"/media/{stored}").headers["etag"]
    again = ask(port, f"/media/{stored}", **{"If-None-Match": etag})
    assert again.status == 304 and again.body == b""
    assert again.headers["cache-control"] == "public, max-age=31536000, immutable"


@pytest.mark.parametrize("case", ["missing", "other type", "dot segment", "other method", "host not allowed"])
def test_what_nginx_does_not_serve_django_answers(case, stored, start_nginx):
    default_storage.save("thumbnails/page.html", ContentFile(b"<script>alert(1)</script>"))
    default_storage.save("thumbnails/.hidden.jpg", ContentFile(jpeg_bytes()))
    path, method, host = {
        "missing": ("/media/thumbnails/1/ab/none.jpg", "GET", "127.0.0.1"),
        "other type": ("/media/thumbnails/page.html", "GET", "127.0.0.1"),
        "dot segment": ("/media/thumbnails/.hidden.jpg", "GET", "127.0.0.1"),
        "other method": (f"/media/{stored}", "DELETE", "127.0.0.1"),
        "host not allowed": (f"/media/{stored}", "GET", "evil.example"),
    }[case]
    port, web_port = start_nginx()
    proxied, direct = ask(port, path, method, host), ask(web_port, path, method, host)
    assert "last-modified" not in proxied.headers
    assert (proxied.status, proxied.body) == (direct.status, direct.body)
    assert proxied.status in (400, 404, 405) or proxied.body == direct.body


def test_plain_http_goes_to_django_for_its_redirect_when_https_is_required(stored, web_settings, start_nginx):
    web_settings.SECURE_SSL_REDIRECT = True
    web_settings.SECURE_HSTS_SECONDS = 600
    web_settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    port, _ = start_nginx()
    redirected = ask(port, f"/media/{stored}")
    assert redirected.status == 301
    assert redirected.headers["location"] == f"https://127.0.0.1/media/{stored}"
    secure = ask(port, f"/media/{stored}", **{"X-Forwarded-Proto": "https"})
    assert secure.status == 200 and "last-modified" in secure.headers
    assert secure.headers["strict-transport-security"] == "max-age=600"


def test_pages_pass_through_to_django(start_nginx):
    port, _ = start_nginx()
    answer = ask(port, "/healthz")
    assert answer.status == 200


def test_the_command_writes_a_config_nginx_accepts(tmp_path, settings):
    nginx = require_nginx()
    settings.ALLOWED_HOSTS = ["*"]
    target = tmp_path / "nginx.conf"
    call_command("nginx_config", "--output", str(target), "--pid", str(tmp_path / "pid"), "--temp-dir", str(tmp_path))
    checked = subprocess.run([nginx, "-t", "-c", str(target), "-p", str(tmp_path)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    assert "server_name _;" in target.read_text()


def test_the_command_refuses_an_address_nginx_would_not_take():
    with pytest.raises(CommandError, match="--listen 'port 80' is not an address nginx takes"):
        call_command("nginx_config", "--listen", "port 80")


def test_a_setting_nginx_would_read_as_a_variable_is_refused(settings):
    settings.SECURE_REFERRER_POLICY = "same-origin$x"
    with pytest.raises(CommandError, match="contains '\\$'"):
        call_command("nginx_config")
