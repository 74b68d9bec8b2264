"""Faults injected per route: rate limits, server errors, dropped connections, latency, token expiry."""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from functools import lru_cache

__all__ = ["DropConnection", "ExpireToken", "Fault", "FaultPlan", "Latency", "RateLimit", "ServerError"]


@dataclass(frozen=True)
class RateLimit:
    """Answer 429 with `x-looker-rate-limited: true`; `Retry-After` only when given."""

    retry_after: float | None = None


@dataclass(frozen=True)
class ServerError:
    """Answer a 5xx status with a JSON error body.

    With `after_processing=True` the call is carried out first and its answer
    then replaced by the error. This models an answer lost between Looker and
    the client (a proxy or load balancer answering 500/502/504 for a request
    Looker completed), not a Looker behaviour: a guess at what the network can
    do, which the client cannot tell from a write that never happened.
    """

    status: int = 500
    after_processing: bool = False


@dataclass(frozen=True)
class DropConnection:
    """Close the socket without answering.

    With `after_processing=True` the call is carried out first, so the client
    cannot know whether its write happened (a connection reset by the network
    after Looker did the write: a model of a lost answer, not a Looker behaviour).
    """

    after_processing: bool = False


@dataclass(frozen=True)
class Latency:
    """Sleep, then answer normally."""

    ms: float


@dataclass(frozen=True)
class ExpireToken:
    """Invalidate every token issued so far; the matched call itself then gets 401."""


Fault = RateLimit | ServerError | DropConnection | Latency | ExpireToken


@lru_cache(maxsize=512)
def _compile(route: str) -> tuple[re.Pattern[str], re.Pattern[str]]:
    method, _, path = route.strip().partition(" ")
    path = path.strip() or "*"
    if path not in ("*", "**") and not path.startswith("/"):
        path = "/" + path

    def glob(text: str, segment: bool) -> re.Pattern[str]:
        if text in ("*", "**"):
            return re.compile(".*")
        out = []
        i = 0
        while i < len(text):
            if text.startswith("**", i):
                out.append(".*")
                i += 2
            elif text[i] == "*":
                out.append("[^/]*" if segment else ".*")
                i += 1
            else:
                out.append(re.escape(text[i]))
                i += 1
        return re.compile("".join(out), re.IGNORECASE)

    return glob(method or "*", False), glob(path, True)


@dataclass
class _Injection:
    route: str
    fault: Fault
    remaining: int
    every: int = 1
    seen: int = 0


class FaultPlan:
    """Faults waiting for calls that match their route, each for a number of calls.

    Routes are `METHOD /path` globs matched against the path after `/api/4.0`:
    `*` matches within one path segment, `**` across segments, and a lone `*`
    matches any method or any path (`"* *"` matches every call).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: list[_Injection] = []
        self._quota: float | None = None
        self._quota_retry_after: float | None = None
        self._tokens = 0.0
        self._refilled = time.monotonic()

    def throttle(self, per_second: float | None, retry_after: float | None = None) -> None:
        """Answer 429 to calls above `per_second` (a one-second bucket), as a loaded Looker does; None lifts it."""
        with self._lock:
            self._quota = per_second
            self._quota_retry_after = retry_after
            self._tokens = per_second or 0.0
            self._refilled = time.monotonic()

    def _over_quota(self) -> bool:
        if self._quota is None:
            return False
        now = time.monotonic()
        self._tokens = min(self._quota, self._tokens + (now - self._refilled) * self._quota)
        self._refilled = now
        if self._tokens < 1.0:
            return True
        self._tokens -= 1.0
        return False

    def add(self, route: str, fault: Fault, times: int = 1, every: int = 1) -> None:
        """Queue `fault` for `times` calls matching `route`: every `every`-th of them (each one by default).

        Raises:
            ValueError: when `times` or `every` is below 1 or the fault is of an unknown kind.
        """
        if times < 1:
            raise ValueError("times must be at least 1")
        if every < 1:
            raise ValueError("every must be at least 1")
        if not isinstance(fault, (RateLimit, ServerError, DropConnection, Latency, ExpireToken)):
            raise ValueError(f"unknown fault {fault!r}")
        _compile(route)
        with self._lock:
            self._pending.append(_Injection(route, fault, times, every))

    def take(self, method: str, path: str) -> Fault | None:
        """The first pending fault whose route matches this call (used up by one), or None."""
        with self._lock:
            if self._over_quota():
                return RateLimit(self._quota_retry_after)
            if not self._pending:
                return None
            for injection in self._pending:
                method_re, path_re = _compile(injection.route)
                if method_re.fullmatch(method) and path_re.fullmatch(path):
                    injection.seen += 1
                    if injection.seen % injection.every:
                        continue
                    injection.remaining -= 1
                    if injection.remaining <= 0:
                        self._pending.remove(injection)
                    return injection.fault
        return None

    def clear(self) -> None:
        """Drop every pending fault."""
        with self._lock:
            self._pending.clear()

    def pending(self) -> list[tuple[str, Fault, int]]:
        """(route, fault, calls left) of each pending fault."""
        with self._lock:
            return [(i.route, i.fault, i.remaining) for i in self._pending]
