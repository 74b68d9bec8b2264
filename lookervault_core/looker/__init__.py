"""Talking to Looker: settings, a status-aware SDK client, retries and a shared rate limiter.

    client = connect(LookerSettings.from_env(workers=8))
    dashboard = client.call(lambda: client.sdk.dashboard("42"))

`client.sdk` is the official looker-sdk `Looker40SDK`; its failures arrive as
`lookervault_core.errors` (`NotFound`, `ValidationFailed`, `RateLimited`, ...).
`client.plain_sdk` makes the same calls and answers plain dicts and lists
(decoded once by msgspec) instead of SDK models, for code that reads answers as data.
"""

from __future__ import annotations

from lookervault_core.looker.client import LookerClient, connect
from lookervault_core.looker.ratelimit import AdaptiveRateLimiter, RateLimiterStats
from lookervault_core.looker.retry import RetryPolicy
from lookervault_core.looker.settings import LookerSettings

__all__ = [
    "AdaptiveRateLimiter",
    "LookerClient",
    "LookerSettings",
    "RateLimiterStats",
    "RetryPolicy",
    "connect",
]
