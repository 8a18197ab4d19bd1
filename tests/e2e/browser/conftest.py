"""Real Chromium (Debian's, driven by Playwright) against a live Django server on 127.0.0.1.

- `app`: the live server's origin (transactional database: the server thread sees what a test creates).
- `open_page()`: a fresh browser context and page; `page.relabel_log` (helpers.PageLog) records console
  errors, failed requests and every request.
- `worker_site`: a second origin (http://localhost:<port>, another site than 127.0.0.1) serving a page that
  frames a given URL, standing in for MTurk's worker site.
"""

from collections.abc import Callable, Iterator
from html import escape
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread
from urllib.parse import parse_qs, urlparse

import pytest

from tests.e2e.browser.helpers import PageLog
from tests.mturk_sim import running_simulator
from tests.requirements import require, require_chromium

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update"]
VIEWPORT = {"width": 960, "height": 700}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/e2e/browser/" in item.nodeid:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="package")
def browser() -> Iterator:
    """One Chromium for the package; package-scoped because Playwright's sync API keeps an asyncio loop in
    the main thread, which must be gone before tests outside this package run."""
    path = require_chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require(False, "the playwright package is not installed (pip install -e '.[dev]'; never `playwright install`)")
    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
    except Exception as exc:
        playwright.stop()
        require(False, f"Chromium at {path} does not start under Playwright: {exc}")
    yield chromium
    chromium.close()
    playwright.stop()


@pytest.fixture(autouse=True)
def _orm_beside_playwright(monkeypatch) -> None:
    """Playwright's sync API keeps an asyncio loop in this thread; the ORM calls of the test are still sync."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="package")
def _app_server() -> Iterator:
    from pytest_django.live_server_helper import LiveServer

    server = LiveServer("127.0.0.1")
    yield server
    server.stop()


@pytest.fixture
def app(_app_server, transactional_db) -> str:
    """The live server's origin, e.g. http://127.0.0.1:41234."""
    return _app_server.url


@pytest.fixture
def open_page(browser) -> Iterator[Callable]:
    contexts = []

    def _open(**context_options):
        context = browser.new_context(**{"viewport": VIEWPORT, **context_options})
        contexts.append(context)
        page = context.new_page()
        page.relabel_log = PageLog()
        page.relabel_log.watch(page)
        page.set_default_timeout(10_000)
        return page

    yield _open
    for context in contexts:
        context.close()


class _FramingPage(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args) -> None:
        pass

    def do_GET(self) -> None:
        target = parse_qs(urlparse(self.path).query).get("src", [""])[0]
        body = (
            "<!doctype html><title>Worker site</title><h1>Worker site (stands in for MTurk)</h1>"
            f'<iframe id="task" src="{escape(target)}" width="920" height="560"></iframe>'
        ).encode()
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="package")
def worker_site() -> Iterator[str]:
    """Origin of a page `/?src=URL` that frames URL; `localhost` is another site than the app's 127.0.0.1."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FramingPage)
    server.daemon_threads = True
    Thread(target=server.serve_forever, name="worker-site", daemon=True).start()
    yield f"http://localhost:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def simulator(settings, tmp_path, app):
    """An MTurk simulator whose HITs point at the live server; yields (simulator URL, state file)."""
    state = tmp_path / "sim.json"
    with running_simulator(state) as url:
        settings.MTURK_ENDPOINT_URL = url
        settings.RELABEL_PUBLIC_BASE_URL = app
        settings.RELABEL_MTURK_SUBMIT_HOSTS = [url]
        yield url, state
