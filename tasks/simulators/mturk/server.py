"""The simulator's HTTP side (stdlib ThreadingHTTPServer).

- `POST /` with `X-Amz-Target: MTurkRequesterServiceV20170117.<Operation>` and an
  `application/x-amz-json-1.1` body: the requester API, as boto3 sends it.
- `GET|POST /sim/accept?hitId=...&workerId=...`: a simulated worker accepts a HIT; the JSON answer
  holds the HIT page URL with MTurk's parameters (`&redirect=1` sends a browser straight there).
- `POST /mturk/externalSubmit`: the HIT page's final form, as MTurk's worker site receives it.
- `GET /`: a page listing the HITs, for a researcher rehearsing a batch by hand.

The requester API answers only requests signed (SigV4) with the configured access key id, and refuses
oversized or deeply nested JSON with an MTurk-shaped 400, as AWS does, instead of dropping the
connection. It listens on the loopback interface unless told otherwise.
"""

import json
import logging
import re
import threading
from html import escape
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlparse

from relabel.json_input import JSONInputError, load_json
from tasks.simulators.mturk import operations
from tasks.simulators.mturk.store import Store
from tasks.simulators.mturk.validation import RequestError, validate

TARGET_PREFIX = "MTurkRequesterServiceV20170117."
JSON_TYPE = "application/x-amz-json-1.1"
MAX_BODY = 2 * 1024 * 1024
MAX_JSON_DEPTH = 16  # MTurk's deepest request (QualificationRequirements → LocaleValues) nests 4 levels
DEFAULT_ACCESS_KEY_ID = "simulator"
_CREDENTIAL = re.compile(r"^AWS4-HMAC-SHA256 Credential=([^/,\s]+)/")
log = logging.getLogger(__name__)


class ApiError(Exception):
    """An error answered in AWS's JSON shape: HTTP status, __type, message and (for MTurk's own) TurkErrorCode."""

    def __init__(self, status: int, kind: str, message: str, turk_error_code: str | None = None) -> None:
        super().__init__(message)
        self.status, self.kind, self.turk_error_code = status, kind, turk_error_code

    def body(self) -> dict:
        if self.turk_error_code is None:
            return {"__type": self.kind, "message": str(self)}
        return {"__type": self.kind, "Message": str(self), "TurkErrorCode": self.turk_error_code}


class LostReply(Exception):
    """The operation was done and saved, but its answer never reaches the client."""


def call(store: Store, operation: str, params: dict) -> dict:
    """Run one requester operation against the stored state (validated first, saved on success).

    An injected fault (operations.inject_fault) answers like MTurk under load: ThrottlingException,
    ServiceFault (HTTP 500), or the work done and the connection closed before the reply.
    """
    handler = operations.OPERATIONS.get(operation)
    if handler is None:
        raise RequestError(f"The simulator does not implement {operation}")
    validate(operation, params)
    with store.change() as state:
        fault = operations.take_fault(state, operation)
    if fault == "throttle":
        raise ApiError(HTTPStatus.BAD_REQUEST, "ThrottlingException", "Rate exceeded")
    if fault == "service_fault":
        raise ApiError(HTTPStatus.INTERNAL_SERVER_ERROR, "ServiceFault", "MTurk cannot process the request now.",
                       "AWS.ServiceUnavailable")
    with store.change() as state:
        operations.tick(state)
        result = handler(state, params)
    if fault == "lost_reply":
        raise LostReply(operation)
    return result


def parse_request(body: bytes) -> dict:
    """The JSON body of an API call; a malformed, too deep or non-object body is a SerializationException."""
    try:
        params = load_json(body or b"{}", max_bytes=MAX_BODY, max_depth=MAX_JSON_DEPTH)
    except JSONInputError as exc:
        raise ApiError(HTTPStatus.BAD_REQUEST, "SerializationException", f"the body is refused: {exc}") from exc
    if not isinstance(params, dict):
        raise ApiError(HTTPStatus.BAD_REQUEST, "SerializationException", "the body must be a JSON object")
    return params


class Handler(BaseHTTPRequestHandler):
    server_version = "MTurkSimulator/1"
    store: Store
    access_key_id: str = DEFAULT_ACCESS_KEY_ID

    def log_message(self, format: str, *args) -> None:
        log.info("%s %s", self.address_string(), format % args)

    # -- routing ---------------------------------------------------------------------------
    def do_POST(self) -> None:
        path = urlparse(self.path).path
        if path == "/" and self.headers.get("X-Amz-Target"):
            self._api()
        elif path == "/mturk/externalSubmit":
            self._external_submit()
        elif path == "/sim/accept":
            self._accept({**self._query(), **self._form()})
        else:
            self._send(HTTPStatus.NOT_FOUND, b"not found", "text/plain")

    def do_GET(self) -> None:
        path = urlparse(self.path).path
        if path == "/sim/accept":
            self._accept(self._query())
        elif path == "/":
            self._index()
        else:
            self._send(HTTPStatus.NOT_FOUND, b"not found", "text/plain")

    # -- endpoints -------------------------------------------------------------------------
    def _api(self) -> None:
        target = self.headers.get("X-Amz-Target", "")
        try:
            self._authenticate()
            if not target.startswith(TARGET_PREFIX):
                raise RequestError(f"X-Amz-Target must start with {TARGET_PREFIX}")
            result = call(self.store, target.removeprefix(TARGET_PREFIX), parse_request(self._body()))
        except RequestError as exc:
            self._json(HTTPStatus.BAD_REQUEST, ApiError(400, "RequestError", str(exc), exc.turk_error_code).body())
        except ApiError as exc:
            self._json(exc.status, exc.body())
        except LostReply:
            self.close_connection = True
        except Exception:  # a simulator bug answers like MTurk's own failures, never as a dropped connection
            log.exception("simulator failure in %s", target)
            self._json(HTTPStatus.INTERNAL_SERVER_ERROR, ApiError(500, "ServiceFault", "internal simulator error",
                                                                  "AWS.ServiceUnavailable").body())
        else:
            self._json(HTTPStatus.OK, result)

    def _authenticate(self) -> None:
        """Only requests signed with the configured access key id (the SigV4 Credential) are served."""
        authorization = self.headers.get("Authorization", "")
        if not authorization:
            raise ApiError(HTTPStatus.BAD_REQUEST, "MissingAuthenticationTokenException",
                           "Missing Authentication Token: sign the request (SigV4)")
        match = _CREDENTIAL.match(authorization)
        if match is None or match.group(1) != self.access_key_id:
            raise ApiError(HTTPStatus.BAD_REQUEST, "UnrecognizedClientException",
                           "The security token included in the request is invalid.")

    def _accept(self, params: dict) -> None:
        try:
            with self.store.change() as state:
                operations.tick(state)
                result = operations.accept(state, params.get("hitId", ""), params.get("workerId", ""), self._base())
        except RequestError as exc:
            self._json(HTTPStatus.BAD_REQUEST, {"error": str(exc)}, "application/json")
            return
        if params.get("redirect"):
            self.send_response(HTTPStatus.FOUND)
            self.send_header("Location", result["url"])
            self.end_headers()
            return
        self._json(HTTPStatus.OK, result, "application/json")

    def _external_submit(self) -> None:
        try:
            with self.store.change() as state:
                operations.tick(state)
                result = operations.external_submit(state, self._form())
        except RequestError as exc:
            self._send(HTTPStatus.BAD_REQUEST, f"<p>Not submitted: {escape(str(exc))}</p>".encode(), "text/html")
            return
        page = f"<h1>Submitted</h1><p>Assignment {escape(result['AssignmentId'])} was submitted. Thank you.</p>"
        self._send(HTTPStatus.OK, page.encode(), "text/html; charset=utf-8")

    def _index(self) -> None:
        with self.store.read() as state:
            rows = "".join(
                f"<tr><td>{escape(h['HITId'])}</td><td>{escape(h['HITStatus'])}</td>"
                f"<td>{h['NumberOfAssignmentsAvailable']}</td><td>{h['NumberOfAssignmentsCompleted']}</td>"
                f"<td><form action='/sim/accept'><input type='hidden' name='hitId' value='{escape(h['HITId'])}'>"
                "<input type='hidden' name='redirect' value='1'>"
                "<input name='workerId' value='ASIMWORKER1' size='14'><button>Accept</button></form></td></tr>"
                for h in (operations.hit_view(state, hit) for hit in state["hits"].values())
            )
            balance = state["balance"]
        page = (
            "<!doctype html><title>MTurk simulator</title><h1>MTurk simulator</h1>"
            f"<p>Balance: ${escape(balance)}</p><table><tr><th>HIT</th><th>Status</th><th>Available</th>"
            f"<th>Completed</th><th>Accept as worker</th></tr>{rows}</table>"
        )
        self._send(HTTPStatus.OK, page.encode(), "text/html; charset=utf-8")

    # -- plumbing --------------------------------------------------------------------------
    def _body(self) -> bytes:
        """The request body, at most MAX_BODY bytes; a larger one is refused unread and the connection closed."""
        length = self.headers.get("Content-Length") or "0"
        if not length.isdigit():
            self.close_connection = True
            raise ApiError(HTTPStatus.BAD_REQUEST, "SerializationException", f"bad Content-Length {length!r}")
        if int(length) > MAX_BODY:
            self.close_connection = True
            raise ApiError(HTTPStatus.BAD_REQUEST, "SerializationException",
                           f"request body too large ({length} bytes, at most {MAX_BODY})")
        return self.rfile.read(int(length))

    def _form(self) -> dict[str, str]:
        try:
            return dict(parse_qsl(self._body().decode(), keep_blank_values=True))
        except (ApiError, UnicodeDecodeError):
            return {}

    def _query(self) -> dict[str, str]:
        return dict(parse_qsl(urlparse(self.path).query, keep_blank_values=True))

    def _base(self) -> str:
        host = self.headers.get("Host") or "{}:{}".format(*self.server.server_address[:2])
        return f"http://{host}"

    def _json(self, status: int, payload: dict, content_type: str = JSON_TYPE) -> None:
        self._send(status, json.dumps(payload).encode(), content_type)

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("x-amzn-RequestId", operations.new_id(20))
        self.end_headers()
        self.wfile.write(body)


def make_server(
    state_path: Path, host: str = "127.0.0.1", port: int = 0, access_key_id: str = DEFAULT_ACCESS_KEY_ID,
) -> ThreadingHTTPServer:
    """A simulator bound to host:port (port 0 picks a free one) keeping its state in `state_path`.

    Its requester API serves only requests signed with `access_key_id`.
    """
    if not access_key_id:
        raise ValueError("the simulator needs an access key id to check requests against")
    handler = type("BoundHandler", (Handler,), {"store": Store(state_path), "access_key_id": access_key_id})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server


def serve_in_thread(
    state_path: Path, host: str = "127.0.0.1", port: int = 0, access_key_id: str = DEFAULT_ACCESS_KEY_ID,
) -> tuple[ThreadingHTTPServer, str]:
    """Start a simulator in a background thread; returns the server and its base URL (for tests)."""
    server = make_server(state_path, host, port, access_key_id)
    threading.Thread(target=server.serve_forever, name="mturk-simulator", daemon=True).start()
    return server, "http://{}:{}".format(*server.server_address[:2])
