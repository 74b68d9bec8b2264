"""A looker-sdk transport that knows HTTP status and raises this project's typed errors.

The stock `RequestsTransport` hands the SDK only ``ok`` and the body, so every
failure — 404, 422, 429, 500, a dropped connection — surfaces as the same
`SDKError` without a status. This subclass inspects the real response and
raises `lookervault_core.errors` instead; the SDK then only ever sees
successful responses.

All lower-layer failures are mapped here, in `map_response` (HTTP status) and
`map_requests_exception` (requests' exception families). Error messages name
the method and path, never headers, tokens, the client secret or a login body.
"""

from __future__ import annotations

import email.utils
import http
import json
import logging
import threading
import time
import urllib.parse
from collections.abc import Mapping, MutableMapping, Sequence
from typing import cast

import requests
import requests.adapters
import urllib3.exceptions
from looker_sdk.rtl import transport
from looker_sdk.rtl.requests_transport import NullAuth, RequestsTransport

from lookervault_core.errors import (
    AuthenticationFailed,
    FieldError,
    LookerApiError,
    NotFound,
    RateLimited,
    Unavailable,
    ValidationFailed,
)
from lookervault_core.looker.ratelimit import AdaptiveRateLimiter

__all__ = [
    "StatusAwareTransport",
    "is_create",
    "is_login",
    "map_requests_exception",
    "map_response",
    "parse_retry_after",
]

logger = logging.getLogger(__name__)

_MAX_MESSAGE = 500
_REDACTED = "[redacted]"


def is_login(method: str, path: str) -> bool:
    """Whether ``method path`` is the API login (``POST /api/<version>/login[/<sudo id>]``)."""
    if method.upper() != "POST":
        return False
    parts = [p for p in urllib.parse.urlsplit(path).path.split("/") if p]
    return len(parts) >= 3 and parts[0] == "api" and parts[2] == "login"


def is_create(method: str, path: str) -> bool:
    """Whether ``method path`` may create something in Looker: any POST but the login.

    Looker's API creates with POST; PATCH, PUT and DELETE leave the same state
    when repeated. A POST repeated after its answer was lost can make a second
    object (tiles, users, schedules have no unique key).
    """
    return method.upper() == "POST" and not is_login(method, path)


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP-date), or None.

    Args:
        value: The header value, if the response had one.
        now: Current Unix time for HTTP-dates (defaults to `time.time()`).
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)


def map_response(
    method: str,
    path: str,
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    *,
    redact: Sequence[str] = (),
) -> LookerApiError | None:
    """The typed error for an HTTP answer, or None when it is a success.

    ========================  =========================================
    status                    error
    ========================  =========================================
    1xx, 2xx, 3xx             None
    any 4xx on POST /login    AuthenticationFailed (body never quoted)
    401, 403                  AuthenticationFailed
    404                       NotFound
    400, 409, 422             ValidationFailed with Looker's ``errors``
    429, or any error status
    marked x-looker-rate-
    limited: true             RateLimited with Retry-After seconds
    408                       Unavailable (transient)
    5xx                       Unavailable (transient); on a POST
                              (`is_create`) ``write_may_have_happened``,
                              and ``may_still_happen`` for 504
    other 4xx, >= 600         LookerApiError (not transient)
    ========================  =========================================

    A 5xx can come from a proxy or gateway after Looker did the write (the
    answer was lost on its way back), so a POST answered 5xx may have created
    what it sent. A 408 says the request never arrived whole.

    Args:
        method: HTTP method, for the message.
        path: URL path (no host, no query), for the message.
        status: HTTP status code.
        headers: Response headers (case-insensitive mapping preferred).
        body: Response body; Looker sends ``{"message", "documentation_url",
            "errors"?}`` as JSON.
        redact: Strings that must never appear in the message (secrets).
    """
    if status < 400:
        return None
    rate_limited = status == 429 or _header(headers, "x-looker-rate-limited").lower() == "true"
    if rate_limited:
        retry_after = parse_retry_after(_header(headers, "retry-after") or None)
        return RateLimited(
            _message(status, body, redact), retry_after=retry_after, status=status, method=method, path=path
        )
    if 500 <= status < 600 and is_create(method, path):
        return Unavailable(_message(status, body, redact), write_may_have_happened=True,
                           may_still_happen=status == 504, status=status, method=method, path=path)
    if 500 <= status < 600 or status == 408:
        return Unavailable(_message(status, body, redact), status=status, method=method, path=path)
    if 400 <= status < 500 and is_login(method, path):
        # Looker answers bad credentials with 404 (sometimes 401/403); whatever
        # it says, the body is not ours to repeat next to a login.
        return AuthenticationFailed(
            "login refused: check LOOKERSDK_CLIENT_ID and LOOKERSDK_CLIENT_SECRET",
            status=status,
            method=method,
            path=path,
        )
    if status in (401, 403):
        return AuthenticationFailed(_message(status, body, redact), status=status, method=method, path=path)
    if status == 404:
        return NotFound(_message(status, body, redact), status=status, method=method, path=path)
    if status in (400, 409, 422):
        return ValidationFailed(
            _message(status, body, redact),
            errors=_field_errors(body, redact),
            status=status,
            method=method,
            path=path,
        )
    return LookerApiError(_message(status, body, redact), status=status, method=method, path=path)


def map_requests_exception(exc: requests.RequestException, method: str, path: str) -> LookerApiError:
    """The typed error for a request that got no HTTP answer.

    ================================================  ==========================
    requests exception                                error
    ================================================  ==========================
    SSLError                                          LookerApiError (not
                                                      transient: retrying will
                                                      not fix a certificate)
    Timeout (ConnectTimeout, ReadTimeout)             Unavailable
    ConnectionError (refused, reset, ProxyError)      Unavailable
    ChunkedEncodingError, ContentDecodingError        Unavailable (cut mid-body)
    RetryError                                        Unavailable
    anything else (InvalidURL, TooManyRedirects, ...) LookerApiError
    ================================================  ==========================

    On a POST (`is_create`) whose request may have been sent — everything but
    a refused or timed-out connect — the Unavailable says
    ``write_may_have_happened``: a reset or a cut answer may follow the write,
    and after a read timeout Looker may still be carrying it out
    (``may_still_happen``).

    The message names the exception class only: requests' own text can quote
    the URL and, with it, whatever a misconfigured base URL holds.
    """
    error = _map_requests_exception(exc, method, path)
    if type(error) is Unavailable and is_create(method, path) and not _never_sent(exc):
        timed_out = isinstance(exc, requests.exceptions.Timeout)
        return Unavailable(error.looker_message, write_may_have_happened=True, may_still_happen=timed_out,
                           method=method, path=path)
    return error


def _never_sent(exc: requests.RequestException) -> bool:
    """Whether the request provably never left: no connection was made (refused, unresolvable, connect timeout)."""
    if isinstance(exc, (requests.exceptions.ConnectTimeout, requests.exceptions.RetryError)):
        return True
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        inner = todo.pop()
        if id(inner) in seen:
            continue
        seen.add(id(inner))
        if isinstance(inner, urllib3.exceptions.NewConnectionError):
            return True
        nested = [getattr(inner, "reason", None), inner.__cause__, inner.__context__, *inner.args]
        todo.extend(e for e in nested if isinstance(e, BaseException))
    return False


def _map_requests_exception(exc: requests.RequestException, method: str, path: str) -> LookerApiError:
    kind = type(exc).__name__
    if isinstance(exc, requests.exceptions.SSLError):
        return LookerApiError(
            f"TLS handshake failed ({kind}); is LOOKERSDK_VERIFY_SSL right for this instance?",
            method=method,
            path=path,
        )
    if isinstance(exc, requests.exceptions.Timeout):
        return Unavailable(f"no answer in time ({kind})", method=method, path=path)
    if isinstance(exc, requests.exceptions.ConnectionError):
        return Unavailable(f"connection failed ({kind}: {_cause(exc)})", method=method, path=path)
    if isinstance(exc, (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError)):
        return Unavailable(f"response cut short ({kind})", method=method, path=path)
    if isinstance(exc, requests.exceptions.RetryError):
        return Unavailable(f"gave up connecting ({kind})", method=method, path=path)
    return LookerApiError(f"request failed ({kind})", method=method, path=path)


class StatusAwareTransport(RequestsTransport):
    """`RequestsTransport` that raises typed errors, counts calls and obeys a rate limiter.

    Thread-safe: one instance serves every worker thread of a client.

    Args:
        settings: The SDK's transport settings (`SdkSettings`).
        session: A requests session; one with a pool of ``pool_maxsize`` and
            no urllib3 retries is built when omitted.
        pool_maxsize: Connections kept per host; give at least one per thread.
        rate_limiter: Acquired before every request and told about 429s.
        redact: Strings scrubbed from any error message (the client secret).
    """

    def __init__(
        self,
        settings: transport.PTransportSettings,
        session: requests.Session | None = None,
        *,
        pool_maxsize: int = 10,
        rate_limiter: AdaptiveRateLimiter | None = None,
        redact: Sequence[str] = (),
    ) -> None:
        if session is None:
            session = requests.Session()
            # The stock pool holds 10 connections; more threads than that would
            # open and drop sockets on every call ("Connection pool is full").
            adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=pool_maxsize, max_retries=0)
            session.mount("https://", adapter)
            session.mount("http://", adapter)
        super().__init__(settings, session)
        _settle_environment(self.session, settings.base_url)
        self.rate_limiter = rate_limiter
        self._redact = tuple(s for s in redact if s)
        self._lock = threading.Lock()
        self._local = threading.local()
        self._calls = 0

    @classmethod
    def configure(cls, settings: transport.PTransportSettings) -> transport.Transport:
        """Build a transport with default pool and no rate limiter."""
        return cls(settings)

    @property
    def calls(self) -> int:
        """HTTP requests sent by all threads (failed ones included)."""
        with self._lock:
            return self._calls

    @property
    def thread_calls(self) -> int:
        """HTTP requests sent by the calling thread."""
        return cast(int, getattr(self._local, "calls", 0))

    def close(self) -> None:
        """Close pooled connections."""
        self.session.close()

    def request(
        self,
        method: transport.HttpMethod,
        path: str,
        query_params: MutableMapping[str, str] | None = None,
        body: bytes | None = None,
        authenticator: transport.TAuthenticator = None,
        transport_options: transport.TransportOptions | None = None,
    ) -> transport.Response:
        """Send one request; return the SDK's `Response` or raise a typed error.

        Raises:
            LookerApiError: A subclass chosen by `map_response` or
                `map_requests_exception`.
        """
        headers: dict[str, str] = {}
        timeout = self.settings.timeout
        if authenticator:
            headers.update(authenticator(transport_options or {}))
        if transport_options:
            if transport_options.get("headers"):
                headers.update(transport_options["headers"])
            if transport_options.get("timeout"):
                timeout = transport_options["timeout"]
        url_path = urllib.parse.urlsplit(path).path
        if self.rate_limiter is not None:
            self.rate_limiter.acquire()
        with self._lock:
            self._calls += 1
        self._local.calls = self.thread_calls + 1
        logger.debug("%s %s", method.name, url_path)
        try:
            resp = self.session.request(
                method.name,
                path,
                auth=NullAuth(),
                params=query_params,
                data=body,
                headers=headers,
                timeout=timeout,
            )
        except requests.RequestException as exc:
            # The prepared request holds the Authorization header and, for a
            # login, the form with the client secret: keep it off the chain.
            exc.request = None
            raise map_requests_exception(exc, method.name, url_path) from exc
        error = map_response(method.name, url_path, resp.status_code, resp.headers, resp.content, redact=self._redact)
        if self.rate_limiter is not None:
            if isinstance(error, RateLimited):
                self.rate_limiter.on_rate_limited(error.retry_after)
            elif not isinstance(error, Unavailable):
                self.rate_limiter.on_success()
        if error is not None:
            raise error
        ret = transport.Response(
            True,
            resp.content,
            transport.response_mode(resp.headers.get("content-type")),
        )
        encoding = requests.utils.get_encoding_from_headers(resp.headers)
        if encoding:
            ret.encoding = encoding
        return ret


# --- helpers ---------------------------------------------------------------------


def _settle_environment(session: requests.Session, base_url: str) -> None:
    """Read proxy and CA-bundle variables once, as requests would on each call to `base_url`.

    With `trust_env` requests re-reads them (HTTPS_PROXY, NO_PROXY,
    REQUESTS_CA_BUNDLE, ...) and re-evaluates the proxy bypass on every
    request, a large share of its CPU per call. Every call goes to the one
    Looker host, so the answer is the same each time: it is kept on the
    session and `trust_env` turned off. (Authentication is always explicit,
    so `trust_env`'s netrc lookup never applied.)
    """
    if not session.trust_env:
        return
    env = session.merge_environment_settings(base_url, {}, None, None, None)
    session.proxies.update(env["proxies"])
    session.verify = env["verify"]
    session.cert = env["cert"]
    session.trust_env = False


def _header(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name)
    if value is None:
        # Plain dicts (tests, other callers) are not case-insensitive.
        value = next((v for k, v in headers.items() if k.lower() == name), None)
    return value.strip() if isinstance(value, str) else ""


def _json(body: bytes) -> Mapping[str, object]:
    try:
        data = json.loads(body.decode("utf-8", errors="replace")) if body else None
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _scrub(text: str, redact: Sequence[str]) -> str:
    for secret in redact:
        if secret:
            text = text.replace(secret, _REDACTED)
    return text[:_MAX_MESSAGE]


def _message(status: int, body: bytes, redact: Sequence[str]) -> str:
    message = _json(body).get("message")
    if isinstance(message, str) and message.strip():
        return _scrub(message.strip(), redact)
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "error"


def _field_errors(body: bytes, redact: Sequence[str]) -> list[FieldError]:
    raw = _json(body).get("errors")
    if not isinstance(raw, list):
        return []
    errors = []
    for item in raw:
        if not isinstance(item, dict):
            continue
        errors.append(
            FieldError(
                field=_scrub(str(item.get("field") or ""), redact),
                code=_scrub(str(item.get("code") or ""), redact),
                message=_scrub(str(item.get("message") or ""), redact),
            )
        )
    return errors


def _cause(exc: BaseException) -> str:
    # The OS-level reason ("Connection refused") buried under requests' and
    # urllib3's wrappers, without their text (which quotes the URL).
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        inner = todo.pop(0)
        if id(inner) in seen:
            continue
        seen.add(id(inner))
        if type(inner).__module__ == "builtins" and isinstance(inner, OSError):
            return inner.strerror or type(inner).__name__
        if type(inner).__module__ == "http.client":
            return type(inner).__name__  # RemoteDisconnected, IncompleteRead
        reason = getattr(inner, "reason", None)
        nested = [reason, inner.__cause__, inner.__context__, *inner.args]
        todo.extend(e for e in nested if isinstance(e, BaseException))
    return "no answer"
