"""Serve a FakeLooker until SIGINT/SIGTERM; the first line of stdout is its base URL.

python -m lookervault_core.testing.fake_looker --port 8765 [--host 127.0.0.1]
    [--latency-ms N] [--strict] [--load BACKUP.sqlite] [--client-id X --client-secret Y]
    [--system-ids shared=801,users=709,all_users=49]
    [--fault "GET /api/4.0/looks/202 500 x3"]... [--latency "GET /api/4.0/dashboards/* 2s"]...
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Sequence

from .fake import FakeLooker, parse_system_ids
from .faults import FaultRule, parse_fault_rule, parse_latency_rule


def _system_ids(text: str) -> dict[str, str]:
    try:
        return parse_system_ids(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _fault_rule(text: str) -> FaultRule:
    try:
        return parse_fault_rule(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _latency_rule(text: str) -> FaultRule:
    try:
        return parse_latency_rule(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m lookervault_core.testing.fake_looker",
        description="Serve a fake Looker API 4.0 on loopback.",
    )
    parser.add_argument("--port", type=int, default=0, help="port to listen on (0: any free port)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="delay added to every call")
    parser.add_argument("--strict", action="store_true", help="reject writes carrying read-only or unknown fields")
    parser.add_argument("--load", metavar="BACKUP", help="a LookerVault backup whose content becomes live state")
    parser.add_argument(
        "--system-ids",
        type=_system_ids,
        metavar="NAME=ID,...",
        help="ids of the Shared and Users folders and the All Users group, as another instance has them "
        "(e.g. shared=801,users=709,all_users=49; default 1, 2 and 1)",
    )
    parser.add_argument(
        "--fault", type=_fault_rule, action="append", default=[], metavar="'METHOD PATH STATUS [xN]'",
        help="answer STATUS (429, a 5xx, or drop) to the next N calls matching METHOD PATH (a glob: * within a "
        "path segment, ** across them), e.g. 'GET /api/4.0/looks/202 500 x3'; once without xN; repeatable",
    )
    parser.add_argument(
        "--latency", type=_latency_rule, action="append", default=[], metavar="'METHOD PATH DELAY [xN]'",
        help="delay calls matching METHOD PATH, e.g. 'GET /api/4.0/dashboards/* 2s' (or 150ms); every call "
        "without xN; repeatable",
    )
    parser.add_argument(
        "--client-id",
        default=os.environ.get("LOOKERSDK_CLIENT_ID") or "fake-client-id",
        help="API client id (default: $LOOKERSDK_CLIENT_ID, else fake-client-id)",
    )
    parser.add_argument(
        "--client-secret",
        default=os.environ.get("LOOKERSDK_CLIENT_SECRET") or "fake-client-secret",
        help="API client secret (default: $LOOKERSDK_CLIENT_SECRET, else fake-client-secret)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the fake until a signal arrives."""
    args = _parser().parse_args(argv)
    fake = FakeLooker(
        client_id=args.client_id,
        client_secret=args.client_secret,
        strict=args.strict,
        latency_ms=args.latency_ms,
        host=args.host,
        port=args.port,
        system_ids=args.system_ids,
    )
    # Nobody reads the request log of a standalone server: do not let it grow.
    fake.record_requests = False
    if args.load:
        fake.load_backup(args.load)
    # The first rule matching a call is used: faults before latencies, or a latency kept for good would hide them.
    for rule in [*args.fault, *args.latency]:
        fake.apply(rule)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    fake.start()
    print(fake.base_url, flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        fake.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
