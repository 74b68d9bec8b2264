"""LookerSettings, the status-aware transport and LookerClient, over real HTTP.

`StubLooker` is a tiny stdlib server that answers what a test scripts; it
drives the exhaustive status mapping. Behaviour against a faithful Looker is
tested through `lookervault_core.testing.fake_looker` (the `fake` fixture of
tests/conftest.py) at the end of the file.
"""

from __future__ import annotations

import inspect
import json
import logging
import socket
import ssl
import subprocess
import threading
import time
import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
import requests.exceptions
import urllib3.exceptions
from looker_sdk.rtl import serialize
from looker_sdk.sdk.api40 import models

from lookervault_core.errors import (
    AuthenticationFailed,
    ConfigurationError,
    FieldError,
    LookerApiError,
    NotFound,
    RateLimited,
    Unavailable,
    ValidationFailed,
    describe,
)
from lookervault_core.looker import (
    AdaptiveRateLimiter,
    LookerClient,
    LookerSettings,
    RetryPolicy,
    connect,
)
from lookervault_core.looker.client import _deserialize
from lookervault_core.looker.retry import attempts_of
from lookervault_core.looker.transport import (
    is_login,
    map_connection_error,
    map_response,
    parse_retry_after,
)
from lookervault_core.testing.fake_looker import (
    DropConnection,
    ExpireToken,
    FakeLooker,
    Latency,
    RateLimit,
    ServerError,
)

SECRET = "s3cr3t-Never-Show-Me"
CLIENT_ID = "stub-client-id"
LOGIN = "/api/4.0/login"
DASHBOARD = "/api/4.0/dashboards/42"


# --- a scripted HTTP server ---------------------------------------------------------


@dataclass
class Reply:
    status: int = 200
    body: Mapping[str, object] | list[object] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    drop: bool = False  # close the socket without answering
    delay_s: float = 0.0


@dataclass
class Seen:
    method: str
    path: str
    headers: Mapping[str, str]
    body: bytes


class StubLooker:
    """Answers scripted replies per (method, path); otherwise logs in and returns a dashboard."""

    def __init__(self, tls: tuple[Path, Path] | None = None) -> None:
        self.script: dict[tuple[str, str], list[Reply]] = {}
        self.seen: list[Seen] = []
        self.logins = 0
        self._lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: object) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                path = self.path.split("?")[0]
                reply = stub._next(self.command, path, dict(self.headers), body)
                if reply.delay_s:
                    time.sleep(reply.delay_s)
                if reply.drop:
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                payload = b"" if reply.body is None else json.dumps(reply.body).encode()
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for k, v in reply.headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        scheme = "http"
        if tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
            scheme = "https"
        self.base_url = f"{scheme}://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def start(self) -> StubLooker:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def on(self, method: str, path: str, *replies: Reply, times: int = 1) -> None:
        with self._lock:
            self.script.setdefault((method, path), []).extend(list(replies) * times)

    def requests_to(self, method: str, path: str) -> list[Seen]:
        with self._lock:
            return [s for s in self.seen if (s.method, s.path) == (method, path)]

    def _next(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> Reply:
        with self._lock:
            self.seen.append(Seen(method, path, headers, body))
            queue = self.script.get((method, path))
            if queue:
                return queue.pop(0)
            if (method, path) == ("POST", LOGIN):
                self.logins += 1
                token = f"token-{self.logins}"
                return Reply(200, {"access_token": token, "token_type": "Bearer", "expires_in": 3600})
            return Reply(200, {"id": path.rsplit("/", 1)[-1], "title": "Orders"})


@pytest.fixture
def stub() -> Iterator[StubLooker]:
    server = StubLooker().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (certificate file, key file), made by openssl (.ci/run installs it)."""
    where = tmp_path_factory.mktemp("tls")
    cert, key = where / "cert.pem", where / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True, timeout=60)
    return cert, key


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.slept.append(seconds)
            self.now += seconds


def make_client(base_url: str, *, attempts: int = 5, workers: int = 8, clock: FakeClock | None = None) -> LookerClient:
    clock = clock or FakeClock()
    settings = LookerSettings(base_url, CLIENT_ID, SECRET, workers=workers, timeout=10)
    return LookerClient(
        settings,
        rate_limiter=AdaptiveRateLimiter(clock=clock, sleep=clock.sleep),
        retry=RetryPolicy(attempts=attempts, sleep=clock.sleep),
    )


def assert_no_secret(*texts: object) -> None:
    for text in texts:
        assert SECRET not in str(text)
        assert "client_secret=" not in str(text)


# --- settings -------------------------------------------------------------------------


ENV = {
    "LOOKERSDK_BASE_URL": "https://Example.looker.com:19999/",
    "LOOKERSDK_CLIENT_ID": "abc",
    "LOOKERSDK_CLIENT_SECRET": SECRET,
}


def test_settings_from_env() -> None:
    s = LookerSettings.from_env(environ=ENV)
    assert s.base_url == "https://Example.looker.com:19999"
    assert (s.client_id, s.client_secret, s.verify_ssl, s.timeout, s.workers) == ("abc", SECRET, True, 120, 8)
    assert s.host == s.instance_id == "example.looker.com:19999"


def test_settings_from_env_reads_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    for k, v in ENV.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("LOOKERSDK_TIMEOUT", "30")
    assert LookerSettings.from_env().timeout == 30


def test_overrides_win_over_the_environment() -> None:
    s = LookerSettings.from_env(environ=ENV, base_url="http://localhost:8080", workers=32, verify_ssl=False)
    assert (s.base_url, s.workers, s.verify_ssl) == ("http://localhost:8080", 32, False)
    assert s.host == "localhost:8080"
    with pytest.raises(ConfigurationError, match="bogus"):
        LookerSettings.from_env(environ=ENV, bogus="x")


@pytest.mark.parametrize("missing", ["LOOKERSDK_BASE_URL", "LOOKERSDK_CLIENT_ID", "LOOKERSDK_CLIENT_SECRET"])
def test_a_missing_variable_is_named(missing: str) -> None:
    env = {k: v for k, v in ENV.items() if k != missing}
    with pytest.raises(ConfigurationError, match=missing) as info:
        LookerSettings.from_env(environ=env)
    assert_no_secret(info.value)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(None, True), ("", True), ("true", True), ("1", True), ("False", False), ("0", False), ("no", False)],
)
def test_tls_verification_is_on_unless_explicitly_off(raw: str | None, expected: bool) -> None:
    env = dict(ENV)
    if raw is not None:
        env["LOOKERSDK_VERIFY_SSL"] = raw
    assert LookerSettings.from_env(environ=env).verify_ssl is expected


@pytest.mark.parametrize(
    ("var", "value"), [("LOOKERSDK_VERIFY_SSL", "maybe"), ("LOOKERSDK_TIMEOUT", "soon"), ("LOOKERSDK_TIMEOUT", "0")]
)
def test_malformed_values_are_rejected(var: str, value: str) -> None:
    with pytest.raises(ConfigurationError):
        LookerSettings.from_env(environ={**ENV, var: value})


@pytest.mark.parametrize(
    "url",
    [
        "https://example.looker.com/api/4.0",
        "https://example.looker.com/looker",
        "https://example.looker.com?x=1",
        "example.looker.com",
        "ftp://example.looker.com",
        "https://",
        "https://example.looker.com:notaport",
    ],
)
def test_base_url_must_be_scheme_host_port(url: str) -> None:
    with pytest.raises(ConfigurationError, match="base_url"):
        LookerSettings(url, "id", SECRET)


def test_base_url_with_credentials_is_rejected_without_echoing_them() -> None:
    with pytest.raises(ConfigurationError) as info:
        LookerSettings(f"https://user:{SECRET}@example.looker.com", "id", "x")
    assert_no_secret(info.value)


def test_default_port_is_dropped_from_the_instance_id() -> None:
    assert LookerSettings("https://EXAMPLE.looker.com:443", "id", SECRET).instance_id == "example.looker.com"
    assert LookerSettings("http://127.0.0.1:80", "id", SECRET).instance_id == "127.0.0.1"


def test_the_secret_never_shows_in_repr_or_str() -> None:
    s = LookerSettings.from_env(environ=ENV)
    sdk_settings = s.sdk_settings()
    assert_no_secret(repr(s), str(s), f"{s}", repr(sdk_settings), str(sdk_settings))
    client = LookerClient(s)
    assert_no_secret(repr(client), str(client))
    client.close()


def test_sdk_settings_ignore_looker_ini_and_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "looker.ini").write_text("[Looker]\nbase_url=https://wrong.example.com\nclient_id=wrong\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LOOKERSDK_BASE_URL", "https://also-wrong.example.com")
    sdk_settings = LookerSettings("https://right.example.com", "id", SECRET, verify_ssl=False, timeout=7).sdk_settings()
    assert (sdk_settings.base_url, sdk_settings.verify_ssl, sdk_settings.timeout) == (
        "https://right.example.com",
        False,
        7,
    )
    assert sdk_settings.read_config()["client_secret"] == SECRET


# --- the status mapping, exhaustively ----------------------------------------------------


def expected_error(status: int, method: str = "GET", path: str = DASHBOARD) -> type[LookerApiError] | None:
    """The contract of map_response, written out independently."""
    if status < 400:
        return None
    if status == 429:
        return RateLimited
    if status == 408 or 500 <= status <= 599:
        return Unavailable
    if (method, path) == ("POST", LOGIN) and status < 500:
        return AuthenticationFailed
    return {
        401: AuthenticationFailed,
        403: AuthenticationFailed,
        404: NotFound,
        400: ValidationFailed,
        409: ValidationFailed,
        422: ValidationFailed,
    }.get(status, LookerApiError)


@pytest.mark.parametrize(("method", "path"), [("GET", DASHBOARD), ("PATCH", DASHBOARD), ("POST", LOGIN)])
def test_every_status_maps_to_exactly_the_documented_error(method: str, path: str) -> None:
    for status in [*range(100, 700), 999]:
        error = map_response(method, path, status, {}, b'{"message": "nope"}')
        expected = expected_error(status, method, path)
        if expected is None:
            assert error is None, status
            continue
        assert type(error) is expected, status
        assert error.status == status
        assert (error.method, error.path) == (method, path)
        assert error.transient == (expected in (RateLimited, Unavailable))
        assert str(error).startswith(f"{method} {path}: HTTP {status}: ")


def test_x_looker_rate_limited_marks_any_error_status_as_rate_limited() -> None:
    error = map_response("GET", DASHBOARD, 503, {"X-Looker-Rate-Limited": "true"}, b"")
    assert isinstance(error, RateLimited) and error.retry_after is None
    assert map_response("GET", DASHBOARD, 200, {"x-looker-rate-limited": "true"}, b"") is None


@pytest.mark.parametrize(
    ("header", "seconds"), [(None, None), ("", None), ("7", 7.0), ("2.5", 2.5), ("-3", 0.0), ("soon", None)]
)
def test_retry_after_header(header: str | None, seconds: float | None) -> None:
    headers = {} if header is None else {"Retry-After": header}
    error = map_response("GET", DASHBOARD, 429, headers, b"")
    assert isinstance(error, RateLimited)
    assert error.retry_after == seconds


def test_retry_after_as_http_date() -> None:
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now=1445412480.0) == 30.0


def test_validation_failed_carries_lookers_field_errors() -> None:
    body = {
        "message": "Validation Failed",
        "errors": [
            {"field": "title", "code": "already_exists", "message": "Title is taken", "documentation_url": "x"},
            {"field": None, "code": "missing"},
            "not an object",
        ],
        "documentation_url": "https://docs.cloud.google.com/looker/docs/r/err/4.0/422/post/dashboards",
    }
    error = map_response("POST", "/api/4.0/dashboards", 422, {}, json.dumps(body).encode())
    assert isinstance(error, ValidationFailed)
    assert error.errors == (FieldError("title", "already_exists", "Title is taken"), FieldError("", "missing", ""))
    assert "title: already_exists Title is taken" in str(error)


def test_message_falls_back_to_the_reason_phrase_and_is_redacted() -> None:
    assert map_response("GET", DASHBOARD, 502, {}, b"<html>Bad gateway</html>").looker_message == "Bad Gateway"  # type: ignore[union-attr]
    echoed = json.dumps({"message": f"bad secret {SECRET}"}).encode()
    error = map_response("GET", DASHBOARD, 400, {}, echoed, redact=[SECRET])
    assert_no_secret(error)


def test_login_errors_never_quote_the_body() -> None:
    body = json.dumps({"message": f"client_id={CLIENT_ID}&client_secret={SECRET}"}).encode()
    for status in (400, 401, 403, 404, 422):
        error = map_response("POST", LOGIN, status, {}, body)
        assert isinstance(error, AuthenticationFailed)
        assert_no_secret(error, describe(error))


def test_is_login() -> None:
    assert is_login("POST", "/api/4.0/login")
    assert is_login("post", "http://h:1/api/4.0/login/7")
    assert not is_login("GET", "/api/4.0/login")
    assert not is_login("POST", "/api/4.0/logins_report")
    assert not is_login("POST", "/api/4.0/dashboards")


# Every exception family urllib3 defines, with the error it must become.
URLLIB3_FAMILIES: dict[str, type[LookerApiError]] = {
    "ConnectTimeoutError": Unavailable,
    "NewConnectionError": Unavailable,
    "NameResolutionError": Unavailable,
    "ReadTimeoutError": Unavailable,
    "TimeoutError": Unavailable,
    "ProtocolError": Unavailable,
    "ConnectionError": Unavailable,  # ProtocolError's old name
    "ResponseNotChunked": Unavailable,
    "IncompleteRead": Unavailable,
    "InvalidChunkLength": Unavailable,
    "ProxyError": Unavailable,
    "DecodeError": Unavailable,
    "PoolError": Unavailable,
    "ClosedPoolError": Unavailable,
    "EmptyPoolError": Unavailable,
    "FullPoolError": Unavailable,
    "HostChangedError": Unavailable,
    "RequestError": Unavailable,
    "SSLError": LookerApiError,
    "MaxRetryError": LookerApiError,
    "HTTPError": LookerApiError,
    "BodyNotHttplibCompatible": LookerApiError,
    "HeaderParsingError": LookerApiError,
    "InvalidHeader": LookerApiError,
    "LocationParseError": LookerApiError,
    "LocationValueError": LookerApiError,
    "ProxySchemeUnknown": LookerApiError,
    "URLSchemeUnknown": LookerApiError,
    "ResponseError": LookerApiError,
    "TimeoutStateError": LookerApiError,
    "UnrewindableBodyError": LookerApiError,
}


def _an(cls: type[BaseException]) -> BaseException:
    """An instance of a urllib3 exception class, whatever its constructor takes, its text holding the secret."""
    text = f"boom https://user:{SECRET}@h/"
    for args in ((text,), (None, text), (None, text, None), (0, 0), (None, None, text), ()):
        try:
            return cls(*args)
        except (TypeError, AttributeError):
            continue
    exc = cls.__new__(cls)  # InvalidChunkLength reads its response in __init__
    Exception.__init__(exc, text)
    return exc


def test_every_urllib3_exception_family_is_mapped() -> None:
    families = {
        name: cls
        for name, cls in inspect.getmembers(urllib3.exceptions, inspect.isclass)
        if issubclass(cls, urllib3.exceptions.HTTPError)
    }
    # A new family in a urllib3 release must be classified here on purpose.
    assert set(families) == set(URLLIB3_FAMILIES)
    for name, cls in families.items():
        error = map_connection_error(_an(cls), "GET", DASHBOARD)
        assert type(error) is URLLIB3_FAMILIES[name], name
        assert error.status is None
        assert str(error).startswith(f"GET {DASHBOARD}: ")
        assert error.transient == (URLLIB3_FAMILIES[name] is Unavailable)
        assert_no_secret(error)


# --- the transport over real HTTP -----------------------------------------------------------


def test_statuses_over_http_become_typed_errors(stub: StubLooker) -> None:
    client = make_client(stub.base_url)
    statuses = [400, 401, 403, 404, 405, 408, 409, 410, 413, 422, 429, 500, 501, 502, 503, 504, 599]
    for status in statuses:
        stub.on("GET", DASHBOARD, Reply(status, {"message": f"m{status}", "documentation_url": "x"}))
        with pytest.raises(LookerApiError) as info:
            client.sdk.dashboard("42")
        assert type(info.value) is expected_error(status), status
        assert (info.value.status, info.value.method, info.value.path) == (status, "GET", DASHBOARD)
        assert info.value.looker_message == f"m{status}"
    assert client.sdk.dashboard("42").id == "42"
    assert client.calls == 1 + len(statuses) + 1
    client.close()


def test_requests_carry_the_bearer_token_and_json_content_type(stub: StubLooker) -> None:
    client = make_client(stub.base_url)
    # The SDK's login would add its form Content-Type to these headers in place.
    client.sdk.dashboard("42", transport_options={"headers": {"X-Trace": "t1"}})
    (login,) = stub.requests_to("POST", LOGIN)
    assert login.headers["Content-Type"] == "application/x-www-form-urlencoded"
    (get,) = stub.requests_to("GET", DASHBOARD)
    assert get.headers["Authorization"] == "Bearer token-1"
    assert get.headers["X-Trace"] == "t1"
    client.sdk.update_dashboard("42", {"title": "x"})  # type: ignore[arg-type]
    (patch,) = stub.requests_to("PATCH", DASHBOARD)
    assert patch.headers["Content-Type"] == "application/json"
    assert json.loads(patch.body) == {"title": "x"}
    client.close()


def test_bad_credentials_fail_login_without_leaking_the_secret(
    stub: StubLooker, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    stub.on("POST", LOGIN, Reply(404, {"message": "Not found", "documentation_url": "x"}))
    with pytest.raises(AuthenticationFailed) as info:
        connect(LookerSettings(stub.base_url, CLIENT_ID, SECRET), retry=RetryPolicy(sleep=lambda s: None))
    error = info.value
    assert (error.status, error.method, error.path) == (404, "POST", LOGIN)
    assert attempts_of(error) == 1
    assert_no_secret(error, repr(error), describe(error), error.__cause__, error.__context__, caplog.text)


def test_connection_refused_is_unavailable_and_retried(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = make_client(f"http://127.0.0.1:{port}", attempts=3)
    with pytest.raises(Unavailable) as info:
        client.authenticate()
    assert attempts_of(info.value) == 3
    assert client.retries == 2
    assert client.calls == 3
    cause = info.value.__cause__
    assert isinstance(cause, urllib3.exceptions.NewConnectionError)
    assert_no_secret(info.value, cause, caplog.text)
    client.close()


def test_a_dropped_connection_is_unavailable(stub: StubLooker) -> None:
    client = make_client(stub.base_url, attempts=1)
    client.authenticate()
    stub.on("GET", DASHBOARD, Reply(drop=True))
    with pytest.raises(Unavailable):
        client.sdk.dashboard("42")
    assert client.sdk.dashboard("42").id == "42"
    client.close()


def test_a_slow_answer_times_out_as_unavailable(stub: StubLooker) -> None:
    client = make_client(stub.base_url, attempts=1)
    stub.on("GET", DASHBOARD, Reply(delay_s=1.0))
    with pytest.raises(Unavailable, match="Timeout"):
        client.sdk.dashboard("42", transport_options={"timeout": 0.2})  # type: ignore[typeddict-item]
    client.close()


# --- the client ----------------------------------------------------------------------


def test_connect_logs_in_once(stub: StubLooker) -> None:
    client = connect(LookerSettings(stub.base_url, CLIENT_ID, SECRET))
    assert stub.logins == 1 and client.calls == 1
    (login,) = stub.requests_to("POST", LOGIN)
    assert b"client_secret=" in login.body  # sent to Looker, and only there
    client.sdk.dashboard("42")
    client.sdk.dashboard("42")
    assert stub.logins == 1 and client.calls == 3
    client.close()


def test_call_retries_429_then_succeeds_after_the_retry_after_pauses(stub: StubLooker) -> None:
    clock = FakeClock()
    client = make_client(stub.base_url, clock=clock)
    client.authenticate()
    stub.on("GET", DASHBOARD, Reply(429, {"message": "Too many"}, {"Retry-After": "3"}), times=3)
    dashboard = client.call(lambda: client.sdk.dashboard("42"))
    assert dashboard.id == "42"
    assert client.retries == 3
    assert client.calls == 1 + 4
    stats = client.rate_limiter.stats()
    assert stats.rate_limited == 3
    assert stats.rate == stats.max_rate  # a pause, not a cut: Looker said when to come back
    assert sum(clock.slept) >= 9.0  # Retry-After honoured, without really sleeping


def test_call_retries_5xx_and_gives_up_with_the_last_error(stub: StubLooker) -> None:
    client = make_client(stub.base_url, attempts=4)
    client.authenticate()
    stub.on("GET", DASHBOARD, Reply(503, {"message": "down"}), times=2)
    assert client.call(lambda: client.sdk.dashboard("42")).id == "42"
    assert client.retries == 2
    stub.on("GET", DASHBOARD, Reply(500, {"message": "still down"}), times=10)
    with pytest.raises(Unavailable, match="still down") as info:
        client.call(lambda: client.sdk.dashboard("42"))
    assert attempts_of(info.value) == 4
    assert client.retries == 2 + 3


def test_call_does_not_retry_permanent_errors(stub: StubLooker) -> None:
    client = make_client(stub.base_url)
    client.authenticate()
    stub.on("GET", DASHBOARD, Reply(404, {"message": "Not found"}))
    with pytest.raises(NotFound) as info:
        client.call(lambda: client.sdk.dashboard("42"))
    assert attempts_of(info.value) == 1
    assert client.retries == 0 and client.calls == 2


def test_an_expired_token_triggers_one_fresh_login(stub: StubLooker) -> None:
    client = make_client(stub.base_url)
    client.authenticate()
    stub.on("GET", DASHBOARD, Reply(401, {"message": "Requires authentication."}))
    assert client.call(lambda: client.sdk.dashboard("42")).id == "42"
    assert stub.logins == 2 and client.relogins == 1
    assert stub.requests_to("GET", DASHBOARD)[-1].headers["Authorization"] == "Bearer token-2"
    # A token refused twice in a row is a real authentication failure.
    stub.on("GET", DASHBOARD, Reply(401, {"message": "Requires authentication."}), times=2)
    with pytest.raises(AuthenticationFailed):
        client.call(lambda: client.sdk.dashboard("42"))
    assert stub.logins == 3


def test_32_threads_share_one_client_after_one_login(stub: StubLooker, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="urllib3")
    client = make_client(stub.base_url, workers=32)
    client.authenticate()
    barrier = threading.Barrier(32)
    errors: list[BaseException] = []
    per_thread: list[int] = []

    def worker() -> None:
        barrier.wait()
        try:
            start = client.thread_calls
            for _ in range(10):
                client.call(lambda: client.sdk.dashboard("42"))
            per_thread.append(client.thread_calls - start)
        except Exception as exc:  # collected for the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert stub.logins == 1
    assert client.calls == 1 + 320
    assert per_thread == [10] * 32
    assert "Connection pool is full" not in caplog.text


def test_cold_threads_log_in_only_once(stub: StubLooker) -> None:
    client = make_client(stub.base_url, workers=16)
    barrier = threading.Barrier(16)

    def worker() -> None:
        barrier.wait()
        client.call(lambda: client.sdk.dashboard("42"))

    threads = [threading.Thread(target=worker) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert stub.logins == 1


def test_the_fast_deserializer_builds_the_same_models_as_the_sdks() -> None:
    dashboard = json.dumps(
        {
            "id": "42",
            "title": "Orders",
            "folder": {"id": "1", "name": "Shared"},
            "created_at": "2024-05-01T10:00:00.000+00:00",
            "dashboard_elements": [{"id": "7", "type": "vis", "query": {"model": "thelook", "view": "orders"}}],
            "dashboard_filters": [{"id": "3", "name": "date", "title": "Date", "type": "date_filter"}],
            "unknown_field": True,
        }
    )
    folders = json.dumps([{"id": "1", "name": "Shared"}, {"id": "2", "name": "Users", "parent_id": None}])
    for data, structure in [
        (dashboard, models.Dashboard),
        (folders, typing.Sequence[models.Folder]),
        ('["a", "b"]', typing.Sequence[str]),
    ]:
        fast = _deserialize(data=data, structure=structure)  # type: ignore[arg-type]
        assert fast == serialize.deserialize40(data=data, structure=structure)  # type: ignore[call-arg]
    with pytest.raises(serialize.DeserializeError):
        _deserialize(data="{not json", structure=models.Dashboard)


# --- against the fake Looker --------------------------------------------------------------


def fake_settings(fake: FakeLooker, *, workers: int = 8) -> LookerSettings:
    return LookerSettings(fake.base_url, fake.client_id, fake.client_secret, workers=workers)


def fake_client(
    fake: FakeLooker, *, attempts: int = 5, workers: int = 8, clock: FakeClock | None = None
) -> LookerClient:
    clock = clock or FakeClock()
    return connect(
        fake_settings(fake, workers=workers),
        rate_limiter=AdaptiveRateLimiter(clock=clock, sleep=clock.sleep),
        retry=RetryPolicy(attempts=attempts, sleep=clock.sleep),
    )


def logins(fake: FakeLooker) -> int:
    return sum(1 for r in fake.requests if r.method == "POST" and r.path == "/login")


def test_fake_login_and_a_call(fake: FakeLooker) -> None:
    client = fake_client(fake)
    assert logins(fake) == 1
    assert client.call(lambda: client.sdk.folder("1")).name == "Shared"
    assert client.instance_id == fake.base_url.removeprefix("http://")
    assert client.calls == 2
    client.close()


def test_fake_refuses_bad_credentials(fake: FakeLooker) -> None:
    settings = LookerSettings(fake.base_url, fake.client_id, SECRET)
    with pytest.raises(AuthenticationFailed) as info:
        connect(settings, retry=RetryPolicy(sleep=lambda s: None))
    assert info.value.path == LOGIN
    assert_no_secret(info.value, describe(info.value))


def test_fake_not_found_and_validation_failed(fake: FakeLooker) -> None:
    client = fake_client(fake)
    with pytest.raises(NotFound) as missing:
        client.call(lambda: client.sdk.folder("987654"))
    assert (missing.value.status, missing.value.path) == (404, "/api/4.0/folders/987654")
    body = models.WriteDashboard(title="Twice", folder_id="1")
    client.call(lambda: client.sdk.create_dashboard(body))
    with pytest.raises(ValidationFailed) as dup:
        client.call(lambda: client.sdk.create_dashboard(body))
    assert dup.value.status == 422
    assert any(e.code == "already_exists" for e in dup.value.errors)
    assert attempts_of(dup.value) == 1
    client.close()


def test_fake_429_three_times_then_success(fake: FakeLooker) -> None:
    clock = FakeClock()
    client = fake_client(fake, clock=clock)
    fake.inject("GET /folders/*", RateLimit(retry_after=2), times=3)
    assert client.call(lambda: client.sdk.folder("1")).id == "1"
    assert client.retries == 3
    stats = client.rate_limiter.stats()
    assert stats.rate_limited == 3 and stats.rate == stats.max_rate
    assert sum(clock.slept) >= 6.0


def test_fake_429_without_retry_after(fake: FakeLooker) -> None:
    client = fake_client(fake)
    fake.inject("GET /folders/*", RateLimit(retry_after=None), times=2)
    assert client.call(lambda: client.sdk.folder("1")).id == "1"
    assert client.retries == 2
    assert client.rate_limiter.stats().rate < client.rate_limiter.stats().max_rate  # no Retry-After: a cut


def test_429s_are_tried_longer_than_other_transient_errors(fake: FakeLooker) -> None:
    """A 429 says Looker did nothing: a storm of them (a third of all calls) must not exhaust five tries."""
    client = fake_client(fake)
    fake.inject("GET /folders/*", RateLimit(retry_after=None), times=8)
    assert client.call(lambda: client.sdk.folder("1")).id == "1"
    assert client.retries == 8


def test_fake_server_errors_retry_then_give_up(fake: FakeLooker) -> None:
    client = fake_client(fake, attempts=3)
    fake.inject("GET /folders/*", ServerError(status=503), times=2)
    assert client.call(lambda: client.sdk.folder("1")).id == "1"
    fake.inject("GET /folders/*", ServerError(status=500), times=10)
    with pytest.raises(Unavailable) as info:
        client.call(lambda: client.sdk.folder("1"))
    assert info.value.status == 500
    assert attempts_of(info.value) == 3
    assert client.retries == 2 + 2


def test_fake_dropped_connection_is_retried(fake: FakeLooker) -> None:
    client = fake_client(fake)
    fake.inject("GET /folders/*", DropConnection(), times=1)
    assert client.call(lambda: client.sdk.folder("1")).id == "1"
    assert client.retries == 1


def test_fake_latency_beyond_the_timeout_is_unavailable(fake: FakeLooker) -> None:
    client = fake_client(fake, attempts=1)
    fake.inject("GET /folders/*", Latency(ms=600), times=1)
    with pytest.raises(Unavailable):
        client.call(lambda: client.sdk.folder("1", transport_options={"timeout": 0.1}))  # type: ignore[typeddict-item]


def test_fake_token_expiry_logs_in_again(fake: FakeLooker) -> None:
    client = fake_client(fake)
    fake.inject("GET /folders/*", ExpireToken(), times=1)
    assert client.call(lambda: client.sdk.folder("1")).id == "1"
    assert logins(fake) == 2
    assert client.relogins == 1
    assert client.call(lambda: client.sdk.folder("1")).id == "1"
    assert logins(fake) == 2


def test_fake_32_threads_share_one_client(fake: FakeLooker) -> None:
    client = fake_client(fake, workers=32)
    barrier = threading.Barrier(32)
    errors: list[BaseException] = []

    def worker() -> None:
        barrier.wait()
        try:
            for _ in range(5):
                assert client.call(lambda: client.sdk.folder("1")).name == "Shared"
        except Exception as exc:  # collected for the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert logins(fake) == 1
    assert client.calls == 1 + 32 * 5
    client.close()


def test_plain_sdk_answers_the_same_data_as_the_models_without_building_them(
    fake: FakeLooker, client: LookerClient, tmp_path: Path
) -> None:
    from lookervault_core.restore.item import as_dict
    from lookervault_core.restore.payload import same
    from lookervault_core.testing.backups import build_backup

    fake.load_backup(build_backup(tmp_path / "sample.sqlite"))
    reads = [
        lambda sdk: sdk.dashboard("101"), lambda sdk: sdk.look("201"), lambda sdk: sdk.folder("13"),
        lambda sdk: sdk.user("5"), lambda sdk: sdk.all_folders(fields="id,name,parent_id"),
        lambda sdk: sdk.search_looks(fields="id,title,query_id", limit=2),
    ]
    for read in reads:
        typed, plain = read(client.sdk), read(client.plain_sdk)
        assert not isinstance(plain, models.Model) and not any(isinstance(p, models.Model) for p in plain)
        if isinstance(typed, list):
            assert len(plain) == len(typed) and all(same(as_dict(t), p) for t, p in zip(typed, plain))
        else:
            assert isinstance(plain, dict) and plain and same(as_dict(typed), plain)
            assert None not in plain.values()


def test_proxy_and_ca_bundle_variables_are_read_once_as_requests_would(monkeypatch: pytest.MonkeyPatch,
                                                                       tmp_path: Path) -> None:
    from lookervault_core.looker.transport import StatusAwareTransport

    bundle = tmp_path / "corp-ca.pem"
    bundle.write_text(Path(requests.utils.DEFAULT_CA_BUNDLE_PATH).read_text())
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    settings = LookerSettings("https://looker.example.com:19999", "id", SECRET).sdk_settings()
    proxied = StatusAwareTransport(settings)
    assert isinstance(proxied.pool, urllib3.ProxyManager)
    assert str(proxied.pool.proxy) == "http://proxy.example:3128"
    assert proxied.pool.connection_pool_kw["ca_certs"] == str(bundle)
    assert proxied.pool.connection_pool_kw["cert_reqs"] == "CERT_REQUIRED"
    monkeypatch.setenv("NO_PROXY", "looker.example.com")
    assert type(StatusAwareTransport(settings).pool) is urllib3.PoolManager
    monkeypatch.delenv("REQUESTS_CA_BUNDLE")
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    default = StatusAwareTransport(settings).pool.connection_pool_kw
    assert default["ca_certs"] == requests.utils.DEFAULT_CA_BUNDLE_PATH  # certifi's, as requests
    unverified = LookerSettings("https://looker.example.com:19999", "id", SECRET, verify_ssl=False).sdk_settings()
    assert StatusAwareTransport(unverified).pool.connection_pool_kw["cert_reqs"] == "CERT_NONE"


def test_a_proxy_url_with_credentials_sends_them_to_the_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    from lookervault_core.looker.transport import StatusAwareTransport

    monkeypatch.setenv("HTTPS_PROXY", "http://me:p%40ss@proxy.example:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    pool = StatusAwareTransport(LookerSettings("https://looker.example.com", "id", SECRET).sdk_settings()).pool
    assert isinstance(pool, urllib3.ProxyManager)
    assert pool.proxy_headers["proxy-authorization"] == urllib3.make_headers(proxy_basic_auth="me:p@ss")[
        "proxy-authorization"]


def test_tls_is_verified_against_the_ca_bundle_requests_would_use(certificate: tuple[Path, Path],
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Over real HTTPS: an instance whose certificate no known CA signed is refused at once, with a cause the
    operator can act on; trusted through REQUESTS_CA_BUNDLE (as requests would) or with verification off, it answers."""
    server = StubLooker(tls=certificate).start()
    try:
        for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "HTTPS_PROXY", "https_proxy"):
            monkeypatch.delenv(name, raising=False)
        refused = make_client(server.base_url)
        with pytest.raises(LookerApiError) as info:
            refused.authenticate()
        assert "TLS handshake failed" in str(info.value) and "LOOKERSDK_VERIFY_SSL" in str(info.value)
        assert not info.value.transient and refused.retries == 0
        assert_no_secret(info.value, info.value.__cause__)
        assert server.logins == 0

        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(certificate[0]))
        trusted = make_client(server.base_url)
        assert trusted.sdk.dashboard("42").id == "42"
        monkeypatch.delenv("REQUESTS_CA_BUNDLE")

        unverified = LookerClient(LookerSettings(server.base_url, CLIENT_ID, SECRET, verify_ssl=False, timeout=10))
        assert unverified.sdk.dashboard("43").id == "43"
        assert server.logins == 2
        for client in (refused, trusted, unverified):
            client.close()
    finally:
        server.stop()


# --- a create whose answer is lost ----------------------------------------------------------


def test_a_post_answered_5xx_may_have_happened() -> None:
    for status in (500, 502, 503, 504):
        error = map_response("POST", "/api/4.0/dashboard_elements", status, {}, b"")
        assert type(error) is Unavailable and error.write_may_have_happened, status
        assert error.transient and error.may_still_happen == (status == 504)
    for method, path, status in (("POST", LOGIN, 500), ("POST", "/api/4.0/dashboard_elements", 408),
                                 ("PATCH", DASHBOARD, 500)):
        error = map_response(method, path, status, {}, b"")
        assert type(error) is Unavailable and not error.write_may_have_happened, (method, path, status)


def test_a_post_cut_off_may_have_happened_unless_it_never_left() -> None:
    path = "/api/4.0/users"
    errors = urllib3.exceptions

    def mapped(exc: BaseException, method: str = "POST") -> Unavailable:
        error = map_connection_error(exc, method, path)
        assert type(error) is Unavailable
        return error

    read = mapped(errors.ReadTimeoutError(None, path, "slow"))  # type: ignore[arg-type]
    assert read.write_may_have_happened and read.may_still_happen
    reset = mapped(errors.ProtocolError("Connection aborted.", ConnectionResetError(104, "reset")))
    assert reset.write_may_have_happened and not reset.may_still_happen
    assert "Connection reset" in str(reset) or "reset" in str(reset)
    assert not mapped(errors.ConnectTimeoutError("slow connect")).write_may_have_happened
    assert not mapped(errors.NewConnectionError(None, "refused")).write_may_have_happened  # type: ignore[arg-type]
    to_proxy = errors.ProxyError("Unable to connect to proxy", errors.NewConnectionError(None, "refused"))  # type: ignore[arg-type]
    assert not mapped(to_proxy).write_may_have_happened
    assert not mapped(errors.ReadTimeoutError(None, path, "slow"), "GET").write_may_have_happened  # type: ignore[arg-type]


def test_a_create_whose_answer_is_lost_is_not_sent_again_unless_repeatable(fake: FakeLooker) -> None:
    client = fake_client(fake)
    fake.inject("POST /folders", ServerError(500, after_processing=True), times=1)
    with pytest.raises(Unavailable) as info:
        client.call(lambda: client.sdk.create_folder(models.CreateFolder(name="Once", parent_id="1")))
    assert info.value.write_may_have_happened
    assert [f["name"] for f in fake.all("folders").values()].count("Once") == 1
    assert client.retries == 0
    fake.put("lookml_models", {"name": "thelook", "project_name": "thelook", "allowed_db_connection_names": ["db"],
                               "explores": [{"name": "orders", "label": "Orders", "hidden": False}]})
    fake.inject("POST /queries", DropConnection(after_processing=True), times=1)
    query = models.WriteQuery(model="thelook", view="orders", fields=["orders.count"])
    made = client.call(lambda: client.sdk.create_query(query), repeatable=True)
    assert client.retries == 1
    assert [q["id"] for q in fake.all("queries").values() if q.get("fields") == ["orders.count"]] == [made.id]
