"""HTTP on loopback: parse a call, apply faults, authenticate, route, answer, record."""

from __future__ import annotations

import contextlib
import json
import socket
import sys
import threading
import time
import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

from .api_errors import HttpError, error_body
from .faults import DropConnection, ExpireToken, Fault, FaultPlan, Latency, RateLimit, ServerError
from .listing import apply_fields, parse_fields
from .router import Call, Reply, Router
from .state import Store

__all__ = ["App", "FakeHTTPServer", "RecordedRequest"]

_API_PREFIX = "/api/4.0"


@dataclass(frozen=True)
class RecordedRequest:
    """One call the fake received.

    `path` is the path after `/api/4.0`, still percent-encoded (`/dashboards/42`);
    both logout paths are recorded as `/logout`. `body` is the parsed JSON, or the
    form of a login with the secret masked. `status` is 0 when the connection
    was dropped.
    """

    method: str
    path: str
    query: dict[str, str]
    body: object
    status: int
    #: When the call arrived (time.time()), for timelines of where a run's seconds go.
    received_at: float = 0.0


@dataclass(frozen=True)
class _Answer:
    status: int
    payload: object = None
    headers: tuple[tuple[str, str], ...] = ()
    drop: bool = False


class App:
    """The request pipeline shared by every connection thread."""

    def __init__(
        self,
        store: Store,
        router: Router,
        faults: FaultPlan,
        *,
        client_id: str,
        client_secret: str,
        strict: bool,
        latency_ms: float,
    ) -> None:
        self.store = store
        self.router = router
        self.faults = faults
        self.client_id = client_id
        self.client_secret = client_secret
        self.strict = strict
        self.latency_ms = latency_ms
        self.record_requests = True
        self._log_lock = threading.Lock()
        self._log: list[RecordedRequest] = []

    # --- request log --------------------------------------------------------------------

    def recorded(self) -> list[RecordedRequest]:
        """A snapshot of the request log."""
        with self._log_lock:
            return list(self._log)

    def clear_recorded(self) -> None:
        """Empty the request log."""
        with self._log_lock:
            self._log.clear()

    # --- pipeline -----------------------------------------------------------------------

    def handle(self, h: _Handler, method: str) -> None:
        """Serve one HTTP request on handler `h`."""
        received_at = time.time()
        split = urlsplit(h.path)
        raw_path = split.path
        query = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        length = int(h.headers.get("Content-Length") or 0)
        raw_body = h.rfile.read(length) if length > 0 else b""
        in_api = True
        if raw_path == _API_PREFIX or raw_path.startswith(_API_PREFIX + "/"):
            path = raw_path[len(_API_PREFIX) :] or "/"
        elif raw_path.rstrip("/") == "/api/logout":
            # The SDK logs out at /api/logout, outside the versioned prefix.
            path = "/logout"
        else:
            path, in_api = raw_path, False
        body: object = None
        answer: _Answer | None = None
        try:
            body = _parse_body(raw_body, h.headers.get("Content-Type", ""))
        except ValueError as exc:
            answer = self._error(HttpError(400, f"Bad Request: {exc}"), f"{method.lower()}{path}")
        if self.latency_ms > 0:
            time.sleep(self.latency_ms / 1000)
        if answer is None:
            fault = self.faults.take(method, path)
            answer = self._serve(method, path, query, body, h.headers.get("Authorization"), fault, in_api)
        if answer.drop:
            h.close_connection = True
        else:
            _write(h, answer)
        if not self.record_requests:
            return
        with self._log_lock:
            self._log.append(
                RecordedRequest(method, path, query, _loggable(path, body), 0 if answer.drop else answer.status,
                                received_at)
            )

    def _serve(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        body: object,
        auth: str | None,
        fault: Fault | None,
        in_api: bool,
    ) -> _Answer:
        doc_path = f"{method.lower()}{path}"
        if isinstance(fault, Latency):
            time.sleep(fault.ms / 1000)
        elif isinstance(fault, RateLimit):
            headers = [("x-looker-rate-limited", "true")]
            if fault.retry_after is not None:
                headers.append(("Retry-After", _seconds(fault.retry_after)))
            return self._error(HttpError(429, "Too Many Requests", headers=headers), doc_path)
        elif isinstance(fault, ServerError) and not fault.after_processing:
            return self._error(HttpError(fault.status), doc_path)
        elif isinstance(fault, DropConnection) and not fault.after_processing:
            return _Answer(0, drop=True)
        elif isinstance(fault, ExpireToken):
            with self.store.lock:
                self.store.expire_tokens()

        # Split first, then unquote: a model name may hold an encoded "/".
        segments = [unquote(s) for s in path.split("/")[1:]]
        matched = self.router.match(method, segments) if in_api else None
        if matched is None:
            return self._error(HttpError(404), doc_path)
        route, params = matched
        doc_path = route.doc_path
        token = _bearer(auth)
        user_id = ""
        if route.auth:
            with self.store.lock:
                found = self.store.token_user(token) if token else None
            if found is None:
                return self._error(HttpError(401), doc_path)
            user_id = found
        call = Call(
            store=self.store,
            method=method,
            path=path,
            params=params,
            query=query,
            body=body,
            user_id=user_id,
            token=token,
            strict=self.strict,
            credentials=(self.client_id, self.client_secret),
        )
        try:
            with self.store.lock:
                result = route.handler(call)
                answer = _to_answer(result)
                fields = query.get("fields")
                if fields and answer.status < 300 and answer.payload is not None:
                    answer = _Answer(answer.status, apply_fields(answer.payload, parse_fields(fields)), answer.headers)
        except HttpError as exc:
            answer = self._error(exc, doc_path)
        except Exception as exc:  # noqa: BLE001 - a bug in the fake must answer 500, not hang the client
            traceback.print_exc(file=sys.stderr)
            answer = self._error(HttpError(500, f"Fake Looker error: {exc!r}"), doc_path)
        if isinstance(fault, DropConnection):
            return _Answer(0, drop=True)
        if isinstance(fault, ServerError):
            return self._error(HttpError(fault.status), doc_path)
        return answer

    @staticmethod
    def _error(error: HttpError, doc_path: str) -> _Answer:
        return _Answer(error.status, error_body(error, doc_path), error.headers)


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _bearer(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    # Looker accepts both `Authorization: token X` (its docs) and `Bearer X` (the SDK).
    if scheme.lower() in ("bearer", "token") and token.strip():
        return token.strip()
    return None


def _parse_body(raw: bytes, content_type: str) -> object:
    if not raw:
        return None
    if "application/x-www-form-urlencoded" in content_type.lower():
        return {k: v[-1] for k, v in parse_qs(raw.decode("utf-8"), keep_blank_values=True).items()}
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"body is not JSON ({exc})") from None


def _loggable(path: str, body: object) -> object:
    if path == "/login" and isinstance(body, Mapping) and "client_secret" in body:
        return {**body, "client_secret": "***"}
    return body


def _to_answer(result: object) -> _Answer:
    if isinstance(result, Reply):
        return _Answer(result.status, result.payload, result.headers)
    if result is None:
        return _Answer(204)
    return _Answer(200, result)


def _write(h: BaseHTTPRequestHandler, answer: _Answer) -> None:
    data = (
        b""
        if answer.payload is None or answer.status == 204
        else json.dumps(answer.payload, separators=(",", ":")).encode()
    )
    h.send_response(answer.status)
    if answer.status != 204:
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
    for name, value in answer.headers:
        h.send_header(name, value)
    h.end_headers()
    if data:
        h.wfile.write(data)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Without it every keep-alive call waits ~40 ms for the delayed ACK.
    disable_nagle_algorithm = True
    # Buffer headers and body into one send; handle_one_request flushes after each call.
    wbufsize = 1 << 16
    server_version = "FakeLooker/1.0"
    server: FakeHTTPServer

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        """Silence the per-request log line."""

    def do_GET(self) -> None:
        self.server.app.handle(self, "GET")

    def do_POST(self) -> None:
        self.server.app.handle(self, "POST")

    def do_PATCH(self) -> None:
        self.server.app.handle(self, "PATCH")

    def do_PUT(self) -> None:
        self.server.app.handle(self, "PUT")

    def do_DELETE(self) -> None:
        self.server.app.handle(self, "DELETE")


class FakeHTTPServer(ThreadingHTTPServer):
    """A threading HTTP server that can close its keep-alive connections on shutdown."""

    daemon_threads = True
    block_on_close = False
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], app: App) -> None:
        self.app = app
        self._conn_lock = threading.Lock()
        self._conns: set[socket.socket] = set()
        super().__init__(address, _Handler)

    def process_request(self, request: socket.socket, client_address: object) -> None:  # type: ignore[override]
        with self._conn_lock:
            self._conns.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: socket.socket) -> None:  # type: ignore[override]
        with self._conn_lock:
            self._conns.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Cut every open connection (idle keep-alive ones included)."""
        with self._conn_lock:
            conns = list(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: object, client_address: object) -> None:
        """Ignore clients that went away; report anything else."""
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)  # type: ignore[arg-type]
