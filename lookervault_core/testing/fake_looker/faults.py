"""Faults injected per route: rate limits, server errors, dropped connections, latency, token expiry."""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from functools import lru_cache

__all__ = [
    "DropConnection", "ExpireToken", "Fault", "FaultPlan", "FaultRule", "Latency", "RateLimit", "ServerError",
    "parse_fault_rule", "parse_latency_rule",
]


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


#: The prefix of every API route: rules may name it or leave it out.
API_PREFIX = "/api/4.0"
_TIMES = re.compile(r"x(\d+)", re.IGNORECASE)
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s)", re.IGNORECASE)


@dataclass(frozen=True)
class FaultRule:
    """A fault for the calls matching `route` (a `FaultPlan` route): `times` of them, or every one when None."""

    route: str
    fault: Fault
    times: int | None


def _rule_parts(kind: str, text: str, example: str) -> tuple[str, str, str, int | None]:
    """(method, path, what, times) of `METHOD PATH WHAT [xN]`; a path may keep its `/api/4.0` prefix."""
    parts = text.split()
    times: int | None = None
    if len(parts) == 4:
        match = _TIMES.fullmatch(parts[3])
        if match is None or int(match.group(1)) < 1:
            raise ValueError(f"{kind} rule {text!r}: {parts[3]!r} is not a count of calls like x3 (at least x1)")
        times = int(match.group(1))
        parts = parts[:3]
    if len(parts) != 3:
        raise ValueError(f"{kind} rule {text!r}: expected METHOD PATH {example}")
    method, path, what = parts
    if not (method == "*" or method.isalpha()):
        raise ValueError(f"{kind} rule {text!r}: {method!r} is not an HTTP method (GET, POST, ..., or *)")
    if path not in ("*", "**") and not path.startswith("/"):
        raise ValueError(f"{kind} rule {text!r}: the path {path!r} must start with / (e.g. /api/4.0/looks/202)")
    if path == API_PREFIX or path.startswith(API_PREFIX + "/"):
        path = path[len(API_PREFIX):] or "/"
    return method.upper(), path, what, times


def parse_fault_rule(text: str) -> FaultRule:
    """`METHOD PATH STATUS [xN]`, e.g. `GET /api/4.0/looks/202 500 x3`: answer STATUS to N matching calls.

    STATUS is 429 (rate limited), a 5xx status, or `drop` (close the connection
    unanswered); without `xN` one call. PATH is a glob: `*` within a segment,
    `**` across segments.

    Raises:
        ValueError: naming the rule and what is wrong with it.
    """
    method, path, what, times = _rule_parts("fault", text, "STATUS [xN], e.g. 'GET /api/4.0/looks/202 500 x3'")
    fault: Fault
    if what.lower() == "drop":
        fault = DropConnection()
    elif what == "429":
        fault = RateLimit()
    elif what.isdigit() and 500 <= int(what) <= 599:
        fault = ServerError(int(what))
    else:
        raise ValueError(f"fault rule {text!r}: {what!r} is not 429, a 5xx status or drop")
    return FaultRule(f"{method} {path}", fault, times or 1)


def parse_latency_rule(text: str) -> FaultRule:
    """`METHOD PATH DELAY [xN]`, e.g. `GET /api/4.0/dashboards/* 2s`: delay matching calls (every one without xN).

    Raises:
        ValueError: naming the rule and what is wrong with it.
    """
    method, path, what, times = _rule_parts("latency", text, "DELAY [xN], e.g. 'GET /api/4.0/dashboards/* 2s'")
    match = _DURATION.fullmatch(what)
    if match is None:
        raise ValueError(f"latency rule {text!r}: {what!r} is not a delay like 2s or 150ms")
    ms = float(match.group(1)) * (1.0 if match.group(2).lower() == "ms" else 1000.0)
    return FaultRule(f"{method} {path}", Latency(ms), times)


@dataclass
class _Injection:
    route: str
    fault: Fault
    remaining: int | None
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

    def add(self, route: str, fault: Fault, times: int | None = 1, every: int = 1) -> None:
        """Queue `fault` for `times` calls matching `route` (None: for good): every `every`-th of them.

        Raises:
            ValueError: when `times` or `every` is below 1 or the fault is of an unknown kind.
        """
        if times is not None and times < 1:
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
                    if injection.remaining is None:
                        return injection.fault
                    injection.remaining -= 1
                    if injection.remaining <= 0:
                        self._pending.remove(injection)
                    return injection.fault
        return None

    def clear(self) -> None:
        """Drop every pending fault."""
        with self._lock:
            self._pending.clear()

    def pending(self) -> list[tuple[str, Fault, int | None]]:
        """(route, fault, calls left or None for good) of each pending fault."""
        with self._lock:
            return [(i.route, i.fault, i.remaining) for i in self._pending]
