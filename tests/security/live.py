"""A deployment-like Relabel for hostile-client tests: gunicorn with DEBUG off over a fresh PostgreSQL database.

Tests attack it over real HTTP, as a stranger on the internet would, and read what it stored by
running Django code in the site's own environment (`LiveSite.run`), never through the test process's
database connection.
"""

import http.cookiejar
import json
import secrets
import subprocess
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from tests.scaleout.services import ROOT, FreshDatabase, app_env, free_port, manage, start_gunicorn, stop_process


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    text: str

    def json(self) -> dict | list:
        return json.loads(self.text)


@dataclass
class Browser:
    """One visitor: its own cookie jar; never follows redirects, so tests see every 30x."""

    base: str
    jar: http.cookiejar.CookieJar = field(default_factory=http.cookiejar.CookieJar)

    def request(self, method: str, path: str, body: bytes | dict | None = None,
                headers: dict[str, str] | None = None, timeout: float = 30) -> Response:
        data = json.dumps(body).encode() if isinstance(body, dict | list) else body
        all_headers = {"Content-Type": "application/json", "X-Forwarded-Proto": "https", **(headers or {})}
        request = urllib.request.Request(self.base + path, data=data, method=method, headers=all_headers)
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect())
        try:
            with opener.open(request, timeout=timeout) as response:
                return Response(response.status, dict(response.headers), response.read().decode(errors="replace"))
        except urllib.error.HTTPError as exc:
            return Response(exc.code, dict(exc.headers), exc.read().decode(errors="replace"))

    def get(self, path: str, **kwargs) -> Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body: bytes | dict | None = None, **kwargs) -> Response:
        return self.request("POST", path, body, **kwargs)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class LiveSite:
    """gunicorn (DEBUG=0, a strong SECRET_KEY, behind an HTTPS proxy) on a migrated fresh database.

    Every request says `X-Forwarded-Proto: https`, as the TLS proxy would. Only the cookies' Secure flag
    is off: the test client's cookie jar talks plain HTTP on loopback and would not send them back.
    """

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.database = FreshDatabase()
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None
        self.env: dict[str, str] = {}

    def start(self) -> None:
        self.database.create()
        self.env = app_env(
            self.tmp, self.database.url, DEBUG="0", SECRET_KEY=secrets.token_urlsafe(48),
            ALLOWED_HOSTS="127.0.0.1", RELABEL_PUBLIC_BASE_URL=f"https://127.0.0.1:{self.port}",
            BEHIND_TLS_PROXY="1", SESSION_COOKIE_SECURE="0", CSRF_COOKIE_SECURE="0",
        )
        manage(self.env, "migrate", "-v0")
        manage(self.env, "collectstatic", "--noinput", "-v0")  # DEBUG off: pages need the static manifest
        self.process = start_gunicorn(self.env, self.port, self.tmp / "gunicorn.log", workers=2)

    def stop(self) -> None:
        if self.process:
            stop_process(self.process)
        self.database.drop()

    def browser(self) -> Browser:
        return Browser(self.base)

    def run(self, code: str) -> object:
        """Run Python `code` inside the site's Django; it sets `result`, which comes back through JSON."""
        program = (
            "import django, json, os, sys\n"
            "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'relabel.settings')\n"
            "django.setup()\n"
            "result = None\n"
            f"{code}\n"
            "sys.stdout.write('\\n' + json.dumps(result, default=str))\n"
        )
        done = subprocess.run([sys.executable, "-c", program], cwd=ROOT, env=self.env, capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        return json.loads(done.stdout.strip().splitlines()[-1])
