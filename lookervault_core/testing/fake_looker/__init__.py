"""A faithful, stateful fake of the Looker API 4.0, served over HTTP on loopback.

Tests, the benchmark and the demo drive it through the official looker-sdk::

    from lookervault_core.testing.fake_looker import FakeLooker, RateLimit

    with FakeLooker() as looker:
        looker.inject("PATCH /dashboards/*", RateLimit(retry_after=None), times=3)
        ...  # point LOOKERSDK_BASE_URL at looker.base_url

Run it alone with ``python -m lookervault_core.testing.fake_looker --port 8765``.
"""

from __future__ import annotations

from .fake import FakeLooker
from .faults import (
    DropConnection, ExpireToken, Fault, FaultRule, Latency, RateLimit, ServerError, parse_fault_rule, parse_latency_rule,
)
from .server import RecordedRequest

__all__ = [
    "DropConnection",
    "ExpireToken",
    "FakeLooker",
    "Fault",
    "FaultRule",
    "Latency",
    "RateLimit",
    "RecordedRequest",
    "ServerError",
    "parse_fault_rule",
    "parse_latency_rule",
]
