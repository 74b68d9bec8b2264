"""A looker-sdk transport that knows HTTP status and raises this project's typed errors.

The stock `RequestsTransport` hands the SDK only ``ok`` and the body, so every
failure — 404, 422, 429, 500, a dropped connection — surfaces as the same
`SDKError` without a status. This transport inspects the real response and
raises `lookervault_core.errors` instead; the SDK then only ever sees
successful responses. It sends through urllib3's pool directly, not requests
(see `StatusAwareTransport`).

All lower-layer failures are mapped here, in `map_response` (HTTP status) and
`map_connection_error` (urllib3's exception families). Error messages name
the method and path, never headers, tokens, the client secret or a login body.
"""

from __future__ import annotations

import email.utils
import functools
import http
import http.client
import json
import logging
import os
import threading
import time
import urllib.parse
import warnings
from collections.abc import Mapping, MutableMapping, Sequence
from typing import cast

import requests.utils
import urllib3
import urllib3.exceptions
from looker_sdk.rtl import transport

from lookervault_core.errors import (
    AuthenticationFailed,
    ConfigurationError,
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
    "map_connection_error",
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


def map_connection_error(exc: BaseException, method: str, path: str) -> LookerApiError:
    """The typed error for a request that got no HTTP answer (urllib3's exceptions).

    ==================================================  ==========================
    urllib3 exception                                   error
    ==================================================  ==========================
    SSLError                                            LookerApiError (not
                                                        transient: retrying will
                                                        not fix a certificate)
    NewConnectionError, NameResolutionError,            Unavailable, never sent
    ConnectTimeoutError, a ProxyError failing to
    reach the proxy
    ReadTimeoutError, TimeoutError                      Unavailable
    ProtocolError (reset, dropped), an OSError          Unavailable (cut off)
    ProxyError, DecodeError, IncompleteRead, PoolError
    MaxRetryError (too many redirects), anything else   LookerApiError
    ==================================================  ==========================

    On a POST (`is_create`) whose request may have been sent — everything but
    a refused or timed-out connect — the Unavailable says
    ``write_may_have_happened``: a reset or a cut answer may follow the write,
    and after a read timeout Looker may still be carrying it out
    (``may_still_happen``).

    The message names the exception class only: urllib3's own text can quote
    the URL and, with it, whatever a misconfigured base URL holds.
    """
    error = _map_connection_error(exc, method, path)
    if type(error) is Unavailable and is_create(method, path) and not _never_sent(exc):
        timed_out = isinstance(exc, urllib3.exceptions.TimeoutError)
        return Unavailable(error.looker_message, write_may_have_happened=True, may_still_happen=timed_out,
                           method=method, path=path)
    return error


def _never_sent(exc: BaseException) -> bool:
    """Whether the request provably never left: no connection was made (refused, unresolvable, connect timeout)."""
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        inner = todo.pop()
        if id(inner) in seen:
            continue
        seen.add(id(inner))
        # NewConnectionError and NameResolutionError are ConnectTimeoutErrors too (urllib3 2).
        if isinstance(inner, urllib3.exceptions.ConnectTimeoutError):
            return True
        nested = [getattr(inner, "reason", None), getattr(inner, "original_error", None), inner.__cause__,
                  inner.__context__, *inner.args]
        todo.extend(e for e in nested if isinstance(e, BaseException))
    return False


def _map_connection_error(exc: BaseException, method: str, path: str) -> LookerApiError:
    kind = type(exc).__name__
    errors = urllib3.exceptions
    if isinstance(exc, errors.SSLError) or (isinstance(exc, errors.ProxyError)
                                              and isinstance(exc.original_error, errors.SSLError)):
        return LookerApiError(
            f"TLS handshake failed ({kind}); is LOOKERSDK_VERIFY_SSL right for this instance?",
            method=method,
            path=path,
        )
    if isinstance(exc, errors.ConnectTimeoutError) and not isinstance(exc, errors.NewConnectionError):
        return Unavailable(f"no connection in time ({kind})", method=method, path=path)
    if isinstance(exc, (errors.NewConnectionError, errors.ProxyError)):
        return Unavailable(f"connection failed ({kind}: {_cause(exc)})", method=method, path=path)
    if isinstance(exc, errors.TimeoutError):
        return Unavailable(f"no answer in time ({kind})", method=method, path=path)
    if isinstance(exc, (errors.ProtocolError, OSError)):
        return Unavailable(f"connection failed ({kind}: {_cause(exc)})", method=method, path=path)
    if isinstance(exc, (errors.DecodeError, errors.IncompleteRead, http.client.HTTPException)):
        return Unavailable(f"response cut short ({kind})", method=method, path=path)
    if isinstance(exc, errors.MaxRetryError):
        return LookerApiError(f"too many redirects ({kind})", method=method, path=path)
    if isinstance(exc, errors.PoolError):
        return Unavailable(f"no connection available ({kind})", method=method, path=path)
    return LookerApiError(f"request failed ({kind})", method=method, path=path)


class StatusAwareTransport(transport.Transport):
    """A looker-sdk transport over urllib3 that raises typed errors, counts calls and obeys a rate limiter.

    It sends what the SDK's stock `RequestsTransport` sends (its ``x-looker-appid``
    and JSON content type, the same query encoding, proxy and CA bundle), through
    urllib3's connection pool directly: `requests` costs ~0.26 ms of CPU per call
    more (preparing the request, cookies, hooks), a third of a small call's
    cost, and a re-created dashboard is ~20 calls. Redirects are followed as
    urllib3 does (a 303 becomes a GET, the Authorization header is dropped on
    another host). urllib3 never retries: `LookerClient.call` decides.

    Thread-safe: one instance serves every worker thread of a client.

    Args:
        settings: The SDK's transport settings (`SdkSettings`).
        pool_maxsize: Connections kept per host; give at least one per thread.
        rate_limiter: Acquired before every request and told about 429s.
        redact: Strings scrubbed from any error message (the client secret).
    """

    def __init__(
        self,
        settings: transport.PTransportSettings,
        *,
        pool_maxsize: int = 10,
        rate_limiter: AdaptiveRateLimiter | None = None,
        redact: Sequence[str] = (),
    ) -> None:
        self.settings = settings
        self.rate_limiter = rate_limiter
        self.proxy, self.ca_bundle = _environment(settings.base_url)
        self.pool = _pool_manager(settings, self.proxy, self.ca_bundle, pool_maxsize)
        self._headers = {
            **_DEFAULT_HEADERS,
            transport.LOOKER_API_ID: settings.agent_tag,
            "User-Agent": settings.agent_tag,
            **(settings.headers or {}),
        }
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
        self.pool.clear()

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
                `map_connection_error`.
        """
        headers = dict(self._headers)
        timeout = self.settings.timeout
        if authenticator:
            headers.update(authenticator(transport_options or {}))
        if transport_options:
            if transport_options.get("headers"):
                headers.update(transport_options["headers"])
            if transport_options.get("timeout"):
                timeout = transport_options["timeout"]
        url_path = urllib.parse.urlsplit(path).path
        url = _with_query(path, query_params)
        if self.rate_limiter is not None:
            self.rate_limiter.acquire()
        with self._lock:
            self._calls += 1
        self._local.calls = self.thread_calls + 1
        logger.debug("%s %s", method.name, url_path)
        try:
            resp = self.pool.request(method.name, url, body=body, headers=headers, timeout=_timeout(timeout),
                                     retries=_NO_RETRIES)
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise map_connection_error(exc, method.name, url_path) from exc
        error = map_response(method.name, url_path, resp.status, resp.headers, resp.data, redact=self._redact)
        if self.rate_limiter is not None:
            if isinstance(error, RateLimited):
                self.rate_limiter.on_rate_limited(error.retry_after)
            elif not isinstance(error, Unavailable):
                self.rate_limiter.on_success()
        if error is not None:
            raise error
        ret = transport.Response(True, resp.data, transport.response_mode(resp.headers.get("content-type")))
        # requests' own reading of the charset (JSON UTF-8, other text Latin-1); it only calls .get on the headers.
        encoding = requests.utils.get_encoding_from_headers(resp.headers)  # type: ignore[arg-type]
        if encoding:
            ret.encoding = encoding
        return ret


#: urllib3 never retries (LookerClient.call does, knowing which calls are safe to repeat); errors come
#: through as they are. Redirects are followed, as requests would.
_NO_RETRIES = urllib3.Retry(total=False, redirect=10)


@functools.lru_cache(maxsize=8)
def _timeout(seconds: float) -> urllib3.Timeout:
    """The connect and read timeout of `seconds` (one object per value: urllib3 copies it per call)."""
    return urllib3.Timeout(connect=seconds, read=seconds)


#: What requests sends on every call besides the SDK's own headers.
_DEFAULT_HEADERS = {"Accept": "*/*", "Accept-Encoding": "gzip, deflate"}


# --- helpers ---------------------------------------------------------------------


def _environment(base_url: str) -> tuple[str | None, str | None]:
    """The proxy and CA bundle requests would use for `base_url`: HTTPS_PROXY and NO_PROXY, REQUESTS_CA_BUNDLE.

    Read once, with requests' own rules: every call goes to the one Looker
    host, so the answer is the same each time. (requests re-reads them on
    every call, a large share of its CPU per call.)
    """
    proxy = requests.utils.select_proxy(base_url, requests.utils.get_environ_proxies(base_url))
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or None
    return proxy, bundle


def _pool_manager(settings: transport.PTransportSettings, proxy: str | None, ca_bundle: str | None,
                  maxsize: int) -> urllib3.PoolManager:
    """A pool for the Looker host, through `proxy` when one applies, verifying TLS as requests would."""
    tls: dict[str, object] = {"cert_reqs": "CERT_NONE"}
    if settings.verify_ssl:
        where = ca_bundle or requests.utils.DEFAULT_CA_BUNDLE_PATH
        tls = {"cert_reqs": "CERT_REQUIRED", ("ca_cert_dir" if os.path.isdir(where) else "ca_certs"): where}
    else:
        # The operator turned verification off (LOOKERSDK_VERIFY_SSL=false): say it once, not per call.
        warnings.filterwarnings("ignore", category=urllib3.exceptions.InsecureRequestWarning)
        if settings.base_url.lower().startswith("https:"):
            logger.warning("TLS certificates of %s are not verified (LOOKERSDK_VERIFY_SSL is false)",
                           settings.base_url)
    if proxy is None:
        return urllib3.PoolManager(num_pools=4, maxsize=maxsize, **tls)  # type: ignore[arg-type]
    if proxy.lower().startswith("socks"):
        try:
            from urllib3.contrib.socks import SOCKSProxyManager
        except ImportError as exc:
            raise ConfigurationError("a SOCKS proxy needs PySocks: pip install 'urllib3[socks]'") from exc
        return SOCKSProxyManager(proxy, num_pools=4, maxsize=maxsize, **tls)  # type: ignore[arg-type]
    auth = urllib3.util.parse_url(proxy).auth
    proxy_headers = urllib3.make_headers(proxy_basic_auth=urllib.parse.unquote(auth)) if auth else None
    return urllib3.ProxyManager(proxy, num_pools=4, maxsize=maxsize, proxy_headers=proxy_headers,
                                **tls)  # type: ignore[arg-type]


def _with_query(url: str, params: Mapping[str, object] | None) -> str:
    """`url` with the SDK's query parameters, encoded as requests encodes them (None left out)."""
    if not params:
        return url
    query = urllib.parse.urlencode([(k, v) for k, v in params.items() if v is not None])
    if not query:
        return url
    return f"{url}{'&' if '?' in url else '?'}{query}"


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
