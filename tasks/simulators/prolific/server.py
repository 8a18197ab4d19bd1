"""The Prolific simulator's HTTP side (stdlib ThreadingHTTPServer), state in one JSON file.

API (`Authorization: Token <anything>`): POST/GET /api/v1/studies/, GET /api/v1/studies/<id>/,
POST /api/v1/studies/<id>/transition/, GET /api/v1/submissions/?study=<id> (paginated with
`page`/`page_size` and `_links.next.href`), GET /api/v1/submissions/<id>/, POST
/api/v1/submissions/<id>/transition/, POST /api/v1/submissions/bonus-payments/, POST
/api/v1/bulk-bonus-payments/<id>/pay/, POST|DELETE /api/v1/participant-groups/<id>/participants/,
GET /api/v1/workspaces/<id>/balance/, GET /api/v1/users/me/.

Test hooks: POST /_sim/studies/<id>/participants {"participant_id"} → {"url", "submission_id"};
GET|POST /_sim/complete?cc=..&session=.. (the completion URL); POST /_sim/submissions/<id>/return;
GET /_sim/ledger; POST /_sim/clock {"advance_seconds"}; POST /_sim/faults {"throttle": n, "drop": n,
"drop_path": "/api/v1/..."}: answer the next n API calls 429, or do the next n calls (whose path starts
with drop_path) and close the connection without a reply.
"""

import json
import logging
import re
import threading
from collections.abc import Callable
from decimal import Decimal
from html import escape
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlparse

from relabel.json_input import JSONInputError, load_json
from tasks.simulators.prolific import operations as ops
from tasks.simulators.prolific.operations import SimError
from tasks.simulators.state import StateFile

MAX_BODY = 64 * 1024
MAX_DEPTH = 20
DEFAULT_PAGE_SIZE = 10
log = logging.getLogger(__name__)
ID = "([0-9a-zA-Z_-]{1,64})"


class Handler(BaseHTTPRequestHandler):
    server_version = "ProlificSimulator/1"
    store: StateFile
    fee_rate: Decimal

    def log_message(self, format: str, *args) -> None:
        log.info("%s %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    # -- routing -----------------------------------------------------------------------------------
    def _routes(self) -> list[tuple[str, str, Callable[..., tuple[int, object]]]]:
        return [
            ("GET", r"/api/v1/users/me/", lambda s: (200, {"id": "sim-researcher", "name": "Simulated researcher"})),
            ("POST", r"/api/v1/studies/", lambda s: (201, ops.create_study(s, self._json()))),
            ("GET", r"/api/v1/studies/", lambda s: (200, self._page(list(s["studies"].values())))),
            ("GET", rf"/api/v1/studies/{ID}/", lambda s, i: (200, ops.get_study(s, i))),
            ("POST", rf"/api/v1/studies/{ID}/transition/",
             lambda s, i: (200, ops.transition_study(s, i, self._json()))),
            ("GET", r"/api/v1/submissions/", self._list_submissions),
            ("POST", r"/api/v1/submissions/bonus-payments/",
             lambda s: (201, ops.set_up_bonus(s, self._json(), self.fee_rate))),
            ("GET", rf"/api/v1/submissions/{ID}/", lambda s, i: (200, ops.public_submission(ops.get_submission(s, i)))),
            ("POST", rf"/api/v1/submissions/{ID}/transition/", lambda s, i: (
                200, ops.public_submission(ops.transition_submission(s, i, self._json(), self.fee_rate)))),
            ("POST", rf"/api/v1/bulk-bonus-payments/{ID}/pay/", lambda s, i: (202, ops.pay_bonus(s, i, self.fee_rate))),
            ("POST", rf"/api/v1/participant-groups/{ID}/participants/",
             lambda s, i: (200, ops.change_group(s, i, self._json(), add=True))),
            ("DELETE", rf"/api/v1/participant-groups/{ID}/participants/",
             lambda s, i: (200, ops.change_group(s, i, self._json(), add=False))),
            ("GET", rf"/api/v1/workspaces/{ID}/balance/", lambda s, i: (200, ops.balance(s))),
            ("POST", rf"/_sim/studies/{ID}/participants", lambda s, i: (
                200, ops.add_participant(s, i, str(self._json().get("participant_id", ""))))),
            ("GET", r"/_sim/complete", self._complete),
            ("POST", r"/_sim/complete", self._complete),
            ("POST", rf"/_sim/submissions/{ID}/return", lambda s, i: (200, ops.public_submission(
                ops.return_submission(s, i)))),
            ("GET", r"/_sim/ledger",
             lambda s: (200, {"ledger": s["ledger"], "balance": ops.money(s["balance_cents"])})),
            ("POST", r"/_sim/clock", self._clock),
            ("POST", r"/_sim/faults", self._faults),
        ]

    def _dispatch(self, method: str) -> None:
        path = urlparse(self.path).path
        for route_method, pattern, handler in self._routes():
            match = re.fullmatch(pattern, path)
            if match and route_method == method:
                self._run(path, handler, match.groups())
                return
        self._reply(404, {"error": {"detail": f"{method} {path} is not a simulated endpoint"}})

    def _run(self, path: str, handler: Callable[..., tuple[int, object]], args: tuple) -> None:
        api = path.startswith("/api/")
        drop = False
        try:
            if api and not self.headers.get("Authorization", "").startswith("Token "):
                raise SimError("Authentication credentials were not provided: send 'Authorization: Token <token>'",
                               401)
            with self.store.change() as state:
                if api and state["faults"]["throttle"] > 0:
                    state["faults"]["throttle"] -= 1
                    self._reply(429, {"error": {"detail": "Request was throttled."}}, {"Retry-After": "0"})
                    return
                ops.tick(state, self.fee_rate)
                status, payload = handler(state, *args)
                faults = state["faults"]
                if api and faults["drop"] > 0 and path.startswith(faults["drop_path"] or "/"):
                    faults["drop"] -= 1
                    drop = True
        except SimError as exc:
            self._reply(exc.status, {"error": {"detail": exc.detail}})
            return
        if drop:  # done and saved, but the reply is lost
            self.close_connection = True
            return
        if isinstance(payload, str):
            self._send(status, payload.encode(), "text/html; charset=utf-8")
        else:
            self._reply(status, payload)

    # -- endpoints ---------------------------------------------------------------------------------
    def _list_submissions(self, state: dict) -> tuple[int, object]:
        study = self._query().get("study", "")
        items = [ops.public_submission(s) for s in ops.list_submissions(state, study)]
        return 200, self._page(items)

    def _complete(self, state: dict) -> tuple[int, object]:
        query = self._query()
        submission = ops.complete(state, query.get("cc", ""), query.get("session", ""), self.fee_rate)
        return 200, (f"<!doctype html><title>Study complete</title><h1>Thank you</h1>"
                     f"<p>Submission {escape(submission['id'])} is {escape(submission['status'])}.</p>")

    def _clock(self, state: dict) -> tuple[int, object]:
        seconds = self._json().get("advance_seconds", 0)
        if not isinstance(seconds, int | float) or seconds < 0:
            raise SimError("advance_seconds must be a number ≥ 0")
        state["clock_offset"] += seconds
        return 200, {"clock_offset": state["clock_offset"]}

    def _faults(self, state: dict) -> tuple[int, object]:
        body = self._json()
        faults = state["faults"]
        for name in ("throttle", "drop"):
            value = body.get(name, faults[name])
            if not isinstance(value, int) or value < 0:
                raise SimError(f"{name} must be an integer ≥ 0")
            faults[name] = value
        faults["drop_path"] = str(body.get("drop_path", faults["drop_path"]))
        return 200, faults

    # -- plumbing ----------------------------------------------------------------------------------
    def _json(self) -> dict:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise SimError(f"Request body too large ({length} bytes; at most {MAX_BODY})")
        raw = self.rfile.read(length) if length else b""
        if not raw:
            return {}
        try:
            body = load_json(raw, max_bytes=MAX_BODY, max_depth=MAX_DEPTH)
        except JSONInputError as exc:
            raise SimError(f"Request body refused: {exc}") from exc
        if not isinstance(body, dict):
            raise SimError("Request body must be a JSON object")
        return body

    def _query(self) -> dict[str, str]:
        return dict(parse_qsl(urlparse(self.path).query, keep_blank_values=True))

    def _page(self, items: list) -> dict:
        query = self._query()
        try:
            size = min(max(int(query.get("page_size", DEFAULT_PAGE_SIZE)), 1), 100)
            page = max(int(query.get("page", 1)), 1)
        except ValueError as exc:
            raise SimError("page and page_size must be integers") from exc
        start = (page - 1) * size
        next_href = None
        if start + size < len(items):
            host = self.headers.get("Host") or "{}:{}".format(*self.server.server_address[:2])
            params = urlencode({**query, "page": page + 1, "page_size": size})
            next_href = f"http://{host}{urlparse(self.path).path}?{params}"
        return {"results": items[start:start + size], "_links": {"next": {"href": next_href}},
                "meta": {"count": len(items)}}

    def _reply(self, status: int, payload: object, headers: dict | None = None) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json", headers)

    def _send(self, status: int, body: bytes, content_type: str, headers: dict | None = None) -> None:
        self.send_response(HTTPStatus(status))
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


def make_server(state_path: Path, fee_rate: Decimal, host: str = "127.0.0.1", port: int = 0) -> ThreadingHTTPServer:
    """A simulator on host:port (0: a free port) keeping its state in `state_path`."""
    handler = type("BoundHandler", (Handler,), {"store": StateFile(state_path, ops.empty_state), "fee_rate": fee_rate})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server


def serve_in_thread(state_path: Path, fee_rate: Decimal, host: str = "127.0.0.1",
                    port: int = 0) -> tuple[ThreadingHTTPServer, str]:
    """Start a simulator in a background thread; returns the server and its base URL (tests, rehearsals)."""
    server = make_server(state_path, fee_rate, host, port)
    threading.Thread(target=server.serve_forever, name="prolific-simulator", daemon=True).start()
    return server, "http://{}:{}".format(*server.server_address[:2])
