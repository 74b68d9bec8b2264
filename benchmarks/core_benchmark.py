"""Scenario (C): the core alone against a fake Looker in its own process, as a table of medians.

    .venv/bin/python benchmarks/core_benchmark.py [--looks 1000] [--latency-ms 100] [--workers 8 32] [--repeat 3]
        [--max-workers 64]

Per worker count and repeat: a fresh fake (`python -m lookervault_core.testing.fake_looker`,
a subprocess, so its CPU is not the client's), the folders, users and sets the looks need,
then `restore_many` of every look twice: into the empty instance (create) and again
(unchanged). Each row is the median over the repeats of:

- items/s: looks restored per second of wall time;
- calls/item: HTTP requests the client sent (retries included) per look;
- client CPU ms/item: process CPU time (all threads) of the restore, per look;
- fake CPU ms/item: the fake's CPU over the same pass, per look (for scale only);
- peak RSS: the benchmark process's peak resident set so far (it only grows);
- ideal items/s: workers / (calls per item x latency), what the workers could do if the
  client cost nothing; `of ideal` is items/s over that bound.

With --max-workers, each worker count also runs adaptively (`restore_many(max_workers=)`),
rows marked `->N`, whose bound is taken at the ceiling N.

The machine is shared and has 2 cores: compare medians and ratios, not single runs.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from lookervault_core.backup import BackupReader
from lookervault_core.content_types import ContentType as CT
from lookervault_core.graph import TYPE_ORDER
from lookervault_core.idmap import IdMap
from lookervault_core.looker import LookerSettings, connect
from lookervault_core.restore import Restorer, restore_many
from lookervault_core.testing.backups import build_synthetic_backup

#: What the looks need; the model's configuration stands for its deployed LookML (queries of a model
#: Looker lacks are refused, looker-cli #36).
_SETUP = [CT.PERMISSION_SET, CT.MODEL_SET, CT.ROLE, CT.GROUP, CT.USER, CT.LOOKML_MODEL, CT.FOLDER]
_CLIENT_ID, _CLIENT_SECRET = "bench-id", "bench-secret"


@dataclass(frozen=True)
class Pass:
    """What one restore pass measured."""

    items: int
    seconds: float
    calls: int
    client_cpu_s: float
    fake_cpu_s: float
    peak_rss_mb: float

    @property
    def items_per_s(self) -> float:
        return self.items / self.seconds

    @property
    def calls_per_item(self) -> float:
        return self.calls / self.items


@dataclass
class FakeProcess:
    """A fake Looker serving from a subprocess."""

    proc: subprocess.Popen[str]
    base_url: str

    def cpu_s(self) -> float:
        """User + system CPU seconds of the fake so far (Linux /proc)."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rpartition(")")[2].split()
        # After the command name: state is field 3, utime 14 and stime 15 (proc(5)).
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def fake_process(latency_ms: float) -> Iterator[FakeProcess]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "lookervault_core.testing.fake_looker", "--port", "0",
         "--latency-ms", str(latency_ms), "--client-id", _CLIENT_ID, "--client-secret", _CLIENT_SECRET],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert proc.stdout is not None
        base_url = proc.stdout.readline().strip()
        if not base_url.startswith("http"):
            raise SystemExit(f"fake did not start (said {base_url!r})")
        yield FakeProcess(proc, base_url)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def restore_pass(fake: FakeProcess, backup: Path, state: Path, types: list[CT], workers: int,
                 max_workers: int | None = None) -> Pass:
    """Restore every item of `types`; exits on any failure."""
    settings = LookerSettings(base_url=fake.base_url, client_id=_CLIENT_ID, client_secret=_CLIENT_SECRET,
                              workers=max(workers, max_workers or 0))
    with BackupReader(backup) as reader, connect(settings) as client, \
            IdMap(state / "idmap.sqlite", "bench-source", settings.instance_id) as idmap:
        restorer = Restorer(client, reader, idmap)
        keys = [(ct, row.id) for ct in TYPE_ORDER if ct in types for row in reader.rows(ct)]
        calls, cpu, fake_cpu = client.calls, time.process_time(), fake.cpu_s()
        started = time.perf_counter()
        summary = restore_many(restorer, keys, workers=workers, max_workers=max_workers)
        seconds = time.perf_counter() - started
        cpu, fake_cpu = time.process_time() - cpu, fake.cpu_s() - fake_cpu
        if summary.failures:
            first = summary.failures[0]
            raise SystemExit(f"{len(summary.failures)} failures, first: {first.source_id}: {first.error.message}")
        rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        return Pass(summary.processed, seconds, client.calls - calls, cpu, fake_cpu, rss_mb)


def measure(backup: Path, latency_ms: float, workers: int, max_workers: int | None) -> tuple[Pass, Pass]:
    """(create, unchanged) passes of the looks into a fresh fake."""
    with tempfile.TemporaryDirectory() as tmp, fake_process(latency_ms) as fake:
        restore_pass(fake, backup, Path(tmp), _SETUP, workers)
        create = restore_pass(fake, backup, Path(tmp), [CT.LOOK], workers, max_workers)
        unchanged = restore_pass(fake, backup, Path(tmp), [CT.LOOK], workers, max_workers)
    return create, unchanged


_HEADER = (f"{'pass':<14} {'workers':>7} {'items/s':>8} {'calls/item':>10} {'client CPU ms/item':>18} "
           f"{'fake CPU ms/item':>16} {'peak RSS MB':>11} {'ideal items/s':>13} {'of ideal':>8}")


def row(name: str, workers: int, latency_ms: float, passes: list[Pass]) -> str:
    med = statistics.median
    rate = med(p.items_per_s for p in passes)
    calls = med(p.calls_per_item for p in passes)
    ideal = workers / (calls * latency_ms / 1000) if calls and latency_ms else float("inf")
    return (f"{name:<14} {workers:>7} {rate:>8.1f} {calls:>10.2f} "
            f"{med(1000 * p.client_cpu_s / p.items for p in passes):>18.2f} "
            f"{med(1000 * p.fake_cpu_s / p.items for p in passes):>16.2f} "
            f"{max(p.peak_rss_mb for p in passes):>11.0f} {ideal:>13.1f} {rate / ideal:>8.0%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--looks", type=int, default=1000)
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--workers", type=int, nargs="+", default=[8, 32])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--max-workers", type=int, help="also run each worker count adaptively up to this many")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        backup = build_synthetic_backup(Path(tmp) / "bench.sqlite", folders=50, looks=args.looks,
                                        dashboards=0, tiles_per_dashboard=0)
        print(f"(C) core alone: {args.looks} looks, fake latency {args.latency_ms:.0f} ms per call "
              f"(fake in a subprocess), median of {args.repeat}")
        print(_HEADER)
        for workers in args.workers:
            for ceiling in (None, args.max_workers) if args.max_workers else (None,):
                runs = [measure(backup, args.latency_ms, workers, ceiling) for _ in range(args.repeat)]
                label = "" if ceiling is None else f" ->{ceiling}"
                # The ideal bound of an adaptive row is at its ceiling.
                print(row("create" + label, ceiling or workers, args.latency_ms, [c for c, _ in runs]))
                print(row("unchanged" + label, ceiling or workers, args.latency_ms, [u for _, u in runs]),
                      flush=True)


if __name__ == "__main__":
    main()
