"""`LookerClient`: the official SDK over a status-aware transport, with retries and a shared rate limit.

One client serves every worker thread of a restore. `connect()` logs in once
before the threads fan out (from a cold start they would race to log in), and
`call()` retries transient failures and re-logs in once when Looker has
expired the token server-side (the SDK itself never re-logs in on a 401).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from types import TracebackType
from typing import TypeVar, cast

import msgspec
from cattrs.cols import is_sequence, list_structure_factory
from looker_sdk.rtl import auth_session, auth_token, serialize, transport
from looker_sdk.sdk.api40.methods import Looker40SDK

from lookervault_core.errors import AuthenticationFailed, LookerApiError, Unavailable
from lookervault_core.looker.ratelimit import AdaptiveRateLimiter
from lookervault_core.looker.retry import RetryPolicy, is_transient
from lookervault_core.looker.settings import LookerSettings, SdkSettings
from lookervault_core.looker.transport import StatusAwareTransport, is_login

__all__ = ["LookerClient", "connect"]

T = TypeVar("T")

logger = logging.getLogger(__name__)

_API_VERSION = "4.0"

# The SDK's deserialize40 re-registers a cattrs hook factory on every call,
# which empties cattrs' dispatch cache: 7-20 ms of CPU per response, under the
# GIL. Registering it once and structuring with the same converter gives the
# same models in ~0.01 ms.
serialize.converter40.register_structure_hook_factory(is_sequence, list_structure_factory)


def _deserialize(*, data: str, structure: serialize.TStructure) -> serialize.TDeserializeReturn:
    """`serialize.deserialize40` without its per-call hook registration."""
    try:
        parsed = json.loads(data)
    except json.JSONDecodeError as exc:
        raise serialize.DeserializeError(f"Bad json {exc}") from exc
    try:
        result: serialize.TDeserializeReturn = serialize.converter40.structure(parsed, structure)
    except (TypeError, AttributeError) as exc:
        raise serialize.DeserializeError(f"Bad data {exc}") from exc
    return result


def _without_none(value: object) -> object:
    # What as_dict(model) gives: a model drops the None fields of the answer. Only containers are
    # visited (a dashboard answer holds thousands of scalars).
    if type(value) is dict:
        return {k: _without_none(v) if type(v) in _CONTAINERS else v for k, v in value.items() if v is not None}
    if type(value) is list:
        return [_without_none(v) if type(v) in _CONTAINERS else v for v in value]
    return value


_CONTAINERS = frozenset({dict, list})


def _decode_plain(*, data: str, structure: serialize.TStructure) -> serialize.TDeserializeReturn:
    """An answer as plain JSON data (dicts, lists, strings), decoded once by msgspec.

    `structure` is ignored: no attrs model is built, so there is nothing to
    unstructure again for code that compares answers as data. Unlike a model,
    the data keeps keys the SDK does not know (a newer Looker's fields).
    """
    try:
        parsed = msgspec.json.decode(data)
    except msgspec.DecodeError as exc:
        raise serialize.DeserializeError(f"Bad json {exc}") from exc
    return cast(serialize.TDeserializeReturn, _without_none(parsed))


# The SDK annotates its deserializers as positional but calls them by keyword.
_DESERIALIZE = cast(serialize.TDeserialize, _deserialize)
_DECODE_PLAIN = cast(serialize.TDeserialize, _decode_plain)


class _SerialAuthSession(auth_session.AuthSession):
    """An `AuthSession` whose token checks and logins are serialised across threads.

    ``generation`` counts logins, so a thread that got a 401 can expire exactly
    the token it used and not one another thread has just obtained.
    """

    def __init__(self, settings: SdkSettings, transport_: transport.Transport) -> None:
        super().__init__(settings, transport_, _DESERIALIZE, _API_VERSION)
        self._lock = threading.Lock()
        self._local = threading.local()
        self.generation = 0

    def authenticate(self, transport_options: transport.TransportOptions) -> dict[str, str]:
        """The Authorization header for one call, logging in first if needed."""
        # The SDK's _login() adds a form Content-Type to transport_options'
        # headers in place, which would then be sent with the JSON call that
        # triggered the login: give it a private copy.
        options: transport.TransportOptions = {}
        if transport_options.get("timeout"):
            options["timeout"] = transport_options["timeout"]
        with self._lock:
            before = self.token
            header = super().authenticate(options)
            if self.token is not before:
                self.generation += 1
            self._local.generation = self.generation
        return header

    def used_generation(self) -> int:
        """The login generation of the token the calling thread last sent."""
        return int(getattr(self._local, "generation", self.generation))

    def expire(self, generation: int) -> bool:
        """Forget the token of `generation` so the next call logs in again.

        Returns:
            False when another thread already replaced that token.
        """
        with self._lock:
            if generation != self.generation:
                return False
            self.token = auth_token.AuthToken()
            return True


class LookerClient:
    """A thread-safe Looker API 4.0 client for one instance.

    Attributes:
        settings: Where and as whom it connects.
        sdk: The official `Looker40SDK`; its calls raise this project's typed
            errors (`lookervault_core.errors`), never the SDK's `SDKError`.
        plain_sdk: The same typed calls over the same session, answering plain
            data (dicts and lists, None values dropped; see `_decode_plain`)
            instead of SDK models, at a fraction of the CPU: for code that
            only reads answers as data, like restore.
        rate_limiter: Shared by every thread; acquired before each HTTP request.
        retry_policy: How `call()` retries transient errors.

    Args:
        settings: Connection settings.
        rate_limiter: Defaults to a fresh `AdaptiveRateLimiter()`.
        retry: Defaults to `RetryPolicy()`.
    """

    def __init__(
        self,
        settings: LookerSettings,
        *,
        rate_limiter: AdaptiveRateLimiter | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.settings = settings
        self.rate_limiter = rate_limiter if rate_limiter is not None else AdaptiveRateLimiter()
        self.retry_policy = retry if retry is not None else RetryPolicy()
        sdk_settings = settings.sdk_settings()
        self._transport = StatusAwareTransport(
            sdk_settings,
            pool_maxsize=max(10, settings.workers + 2),
            rate_limiter=self.rate_limiter,
            redact=(settings.client_secret,),
        )
        self._auth = _SerialAuthSession(sdk_settings, self._transport)
        self.sdk = Looker40SDK(
            self._auth,
            _DESERIALIZE,
            serialize.serialize40,
            self._transport,
            _API_VERSION,
        )
        self.plain_sdk = Looker40SDK(
            self._auth,
            _DECODE_PLAIN,
            serialize.serialize40,
            self._transport,
            _API_VERSION,
        )
        self._lock = threading.Lock()
        self._retries = 0
        self._relogins = 0

    def __repr__(self) -> str:
        return f"LookerClient(base_url={self.settings.base_url!r}, calls={self.calls}, retries={self.retries})"

    # --- identity ----------------------------------------------------------

    @property
    def host(self) -> str:
        """``host[:port]`` of the instance (default port dropped)."""
        return self.settings.host

    @property
    def instance_id(self) -> str:
        """Stable key of the instance, for id maps."""
        return self.settings.instance_id

    # --- counters ----------------------------------------------------------

    @property
    def calls(self) -> int:
        """HTTP requests sent so far by all threads, logins and retries included."""
        return self._transport.calls

    @property
    def thread_calls(self) -> int:
        """HTTP requests sent so far by the calling thread (diff it around one item)."""
        return self._transport.thread_calls

    @property
    def retries(self) -> int:
        """Retries made by `call()` after transient errors, over all threads."""
        with self._lock:
            return self._retries

    @property
    def relogins(self) -> int:
        """Logins forced by a 401 on an expired token."""
        with self._lock:
            return self._relogins

    # --- calls ----------------------------------------------------------------

    def authenticate(self) -> None:
        """Log in now (once), so worker threads share a token instead of racing for one.

        Raises:
            AuthenticationFailed: Looker refused the credentials.
            Unavailable: Looker could not be reached after the retries.
        """
        self.call(lambda: self._auth.authenticate({}))

    def call(self, fn: Callable[[], T], *, repeatable: bool = False) -> T:
        """Run ``fn`` (a zero-argument SDK call) with retries of transient errors.

        Every HTTP request inside ``fn`` passes the shared rate limiter. A 401
        caused by a token Looker expired early triggers one fresh login and
        one more try.

        A create whose answer was lost (`Unavailable.write_may_have_happened`) is not sent
        again unless ``repeatable`` says a second one makes nothing new (Looker
        returns the existing query for an identical `create_query`): the
        caller must first look for what the first one made.

        Example:
            ``dash = client.call(lambda: client.sdk.dashboard("42"))``

        Raises:
            LookerApiError: The last error, with ``attempts`` set to the number
                of tries.
            Unavailable: ``write_may_have_happened``: a create's answer was
                lost and it is not ``repeatable``.
        """

        def attempt() -> T:
            try:
                return fn()
            except AuthenticationFailed as exc:
                if exc.status != 401 or is_login(exc.method, exc.path):
                    raise
                if self._auth.expire(self._auth.used_generation()):
                    with self._lock:
                        self._relogins += 1
                logger.info("%s %s: token refused, logging in again", exc.method, exc.path)
                return fn()

        return self.retry_policy.call(attempt, on_retry=self._count_retry,
                                      retry_if=is_transient if repeatable else _safe_to_repeat)

    def close(self) -> None:
        """Close pooled connections (the API session is left to expire)."""
        self._transport.close()

    def __enter__(self) -> LookerClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _count_retry(self, attempt: int, exc: BaseException) -> None:
        with self._lock:
            self._retries += 1


def _safe_to_repeat(exc: BaseException) -> bool:
    return is_transient(exc) and not (isinstance(exc, Unavailable) and exc.write_may_have_happened)


def connect(
    settings: LookerSettings,
    *,
    rate_limiter: AdaptiveRateLimiter | None = None,
    retry: RetryPolicy | None = None,
) -> LookerClient:
    """Build a `LookerClient` and log in once.

    Raises:
        AuthenticationFailed: Looker refused the credentials.
        Unavailable: Looker could not be reached after the retries.
    """
    client = LookerClient(settings, rate_limiter=rate_limiter, retry=retry)
    try:
        client.authenticate()
    except LookerApiError as exc:
        client.close()
        raise _at_login(exc, settings.base_url) from exc
    except Exception:
        client.close()
        raise
    return client


def _at_login(exc: LookerApiError, base_url: str) -> LookerApiError:
    """`exc` of the first login, its message naming the instance: the cause every run records for all its keys."""
    if isinstance(exc, AuthenticationFailed):
        named: LookerApiError = AuthenticationFailed(f"Looker at {base_url}: {exc.looker_message}",
                                                     status=exc.status, method=exc.method, path=exc.path)
    elif isinstance(exc, Unavailable):
        named = Unavailable(f"cannot reach Looker at {base_url}: {exc.looker_message}",
                            status=exc.status, method=exc.method, path=exc.path)
    else:
        return exc
    if hasattr(exc, "attempts"):
        named.attempts = exc.attempts  # type: ignore[attr-defined]
    return named
