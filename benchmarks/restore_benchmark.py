"""Restore throughput and latency, printed as medians and ratios (the machine is shared and noisy).

    .venv/bin/python benchmarks/restore_benchmark.py [--looks 2000] [--latency-ms 20] [--repeat 3]

Scenarios, each against the fake Looker over real HTTP on loopback:
- core: `restore_many` of N looks into an empty instance (creates), then again (all unchanged);
- 429s: the same create pass while the fake caps the rate at half of what restore sends
  (429 without Retry-After above it), lifted after --throttle-s: nothing may fail, and the
  rate must come back once the cap is gone;
- dagster: one single-run backfill run (`restore_looks` over the whole range) in-process,
  Dagster's event writes included;
- single item: one dashboard partition as its own Dagster run.
The fake adds `--latency-ms` to every answer to stand in for a real Looker's network and work.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import dagster as dg

from lookervault_core.backup import BackupReader
from lookervault_core.content_types import ContentType as CT
from lookervault_core.graph import TYPE_ORDER
from lookervault_core.idmap import IdMap
from lookervault_core.looker import LookerSettings, connect
from lookervault_core.restore import Restorer, restore_many
from lookervault_core.testing.backups import build_synthetic_backup
from lookervault_core.testing.fake_looker import FakeLooker


def _fresh_fake(latency_ms: float) -> FakeLooker:
    fake = FakeLooker(latency_ms=latency_ms).start()
    fake.record_requests = False
    return fake


def _restore_pass(fake: FakeLooker, backup: Path, state: Path, types: list[CT], workers: int,
                  on_done: Callable[[float], None] | None = None) -> tuple[float, int, int, int]:
    """(seconds, items, retries, HTTP calls) of one restore of `types`; exits on any failure."""
    settings = LookerSettings(base_url=fake.base_url, client_id=fake.client_id,
                              client_secret=fake.client_secret, workers=workers)
    with BackupReader(backup) as reader, connect(settings) as client, \
            IdMap(state / "idmap.sqlite", "bench-source", settings.instance_id) as idmap:
        restorer = Restorer(client, reader, idmap)
        keys = [(ct, row.id) for ct in TYPE_ORDER if ct in types for row in reader.rows(ct)]
        calls_before = client.calls
        started = time.perf_counter()
        summary = restore_many(restorer, keys, workers=workers,
                               on_outcome=None if on_done is None else lambda _: on_done(time.perf_counter()))
        elapsed = time.perf_counter() - started
        if summary.failures:
            first = summary.failures[0]
            raise SystemExit(f"{len(summary.failures)} failures, first: {first.source_id}: {first.error.message}")
        return elapsed, summary.processed, client.retries, client.calls - calls_before


#: What the looks need; the model's configuration stands for its deployed LookML (queries of a model
#: Looker lacks are refused, looker-cli #36).
_SETUP = [CT.FOLDER, CT.USER, CT.GROUP, CT.ROLE, CT.PERMISSION_SET, CT.MODEL_SET, CT.LOOKML_MODEL]


def _median(samples: list[float]) -> float:
    return statistics.median(samples)


def bench_core(backup: Path, looks: int, latency_ms: float, workers: int, repeat: int) -> float:
    create, unchanged, calls = [], [], []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as tmp, _fresh_fake(latency_ms) as fake:
            _restore_pass(fake, backup, Path(tmp), _SETUP, workers)  # what the looks need
            t, n, _, c = _restore_pass(fake, backup, Path(tmp), [CT.LOOK], workers)
            create.append(n / t)
            calls.append(c / t)
            t, n, _, _ = _restore_pass(fake, backup, Path(tmp), [CT.LOOK], workers)
            unchanged.append(n / t)
    print(f"core, {looks} looks, {workers} workers, fake latency {latency_ms:.0f} ms, median of {repeat}:")
    print(f"  create pass:     {_median(create):8.1f} items/s ({_median(calls):.0f} HTTP calls/s)")
    print(f"  unchanged pass:  {_median(unchanged):8.1f} items/s")
    return _median(calls)


def bench_throttled(backup: Path, looks: int, latency_ms: float, workers: int, clean_calls_per_s: float,
                    throttle_s: float) -> None:
    """Looker caps the rate at half of what restore sends for `throttle_s`, then lifts the cap."""
    cap = max(5.0, clean_calls_per_s / 2)
    done: list[float] = []
    with tempfile.TemporaryDirectory() as tmp, _fresh_fake(latency_ms) as fake:
        _restore_pass(fake, backup, Path(tmp), _SETUP, workers)
        fake.throttle(cap)
        started = time.perf_counter()
        lift = threading.Timer(throttle_s, fake.throttle, args=(None,))
        lift.start()
        t, n, retries, calls = _restore_pass(fake, backup, Path(tmp), [CT.LOOK], workers, on_done=done.append)
        lift.cancel()
    rel = [d - started for d in done]
    during = sum(1 for d in rel if d < throttle_s) / min(throttle_s, t)
    after = [d for d in rel if d >= throttle_s]
    print(f"429s: Looker capped at {cap:.0f} calls/s for the first {throttle_s:.0f} s, then lifted:")
    print(f"  all {n} items restored, none failed; {retries} retries")
    print(f"  during the cap:  {during:8.1f} items/s")
    if len(after) > 20:
        # Seconds after the lift until the completion rate (over 2 s windows) reaches 90% of its final level.
        windows = [(w, sum(1 for d in after if throttle_s + w <= d < throttle_s + w + 2) / 2)
                   for w in range(0, int(max(after) - throttle_s) - 1)]
        final = _median([r for _, r in windows[-5:]]) if windows else 0.0
        back = next((w for w, r in windows if r >= 0.9 * final), None)
        print(f"  after the lift:  {final:8.1f} items/s, reached {'in %d s' % back if back is not None else 'never'}")


def bench_dagster(backup: Path, looks: int, latency_ms: float, workers: int, repeat: int) -> None:
    from lookervault_pipelines.definitions import defs
    from lookervault_pipelines.defs.partitions import sync_partitions

    rates, singles = [], []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as tmp, _fresh_fake(latency_ms) as fake:
            home = Path(tmp) / "home"
            home.mkdir()
            os.environ.update({
                "LOOKERSDK_BASE_URL": fake.base_url, "LOOKERSDK_CLIENT_ID": fake.client_id,
                "LOOKERSDK_CLIENT_SECRET": fake.client_secret, "LOOKERVAULT_BACKUP": str(backup),
                "LOOKERVAULT_STATE_DIR": str(Path(tmp) / "state"),
            })
            with dg.DagsterInstance.local_temp(str(home)) as instance, BackupReader(backup) as reader:
                sync_partitions(instance, reader)
                run = _job_runner(defs, instance, workers)
                for ct in (CT.PERMISSION_SET, CT.MODEL_SET, CT.ROLE, CT.GROUP, CT.USER, CT.LOOKML_MODEL, CT.FOLDER):
                    run(ct)
                started = time.perf_counter()
                result = run(CT.LOOK)
                rates.append(looks / (time.perf_counter() - started))
                assert result.success
                keys = instance.get_dynamic_partitions(CT.DASHBOARD.plural)
                started = time.perf_counter()
                single = defs.resolve_job_def("restore_dashboards").execute_in_process(
                    instance=instance, partition_key=keys[0], raise_on_error=False,
                    run_config=_run_config(CT.DASHBOARD, workers))
                singles.append(time.perf_counter() - started)
                assert single.success
    print(f"dagster, one single-run backfill of {looks} looks in-process, median of {repeat}:")
    print(f"  {_median(rates):8.1f} items/s (restore + one materialization event per item)")
    print(f"  single dashboard as its own run: {_median(singles):.2f} s")


def _job_runner(defs: dg.Definitions, instance: dg.DagsterInstance, workers: int) -> Callable[[CT], dg.ExecuteInProcessResult]:
    def run(ct: CT) -> dg.ExecuteInProcessResult:
        keys = instance.get_dynamic_partitions(ct.plural)
        return defs.resolve_job_def(f"restore_{ct.plural}").execute_in_process(
            instance=instance, raise_on_error=False,
            tags={"dagster/asset_partition_range_start": keys[0], "dagster/asset_partition_range_end": keys[-1]},
            run_config=_run_config(ct, workers),
        )
    return run


def _run_config(ct: CT, workers: int) -> dict[str, object]:
    return {"ops": {ct.plural: {"config": {"workers": workers}}},
            "loggers": {"console": {"config": {"log_level": "WARNING"}}},
            "resources": {"restore_state": {"config": {"source_instance": "bench-source"}}}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--looks", type=int, default=2000)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--throttle-s", type=float, default=10.0, help="seconds Looker answers 429 above half rate")
    parser.add_argument("--skip-dagster", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        backup = build_synthetic_backup(Path(tmp) / "bench.sqlite", folders=50, looks=args.looks,
                                        dashboards=5, tiles_per_dashboard=20)
        clean_calls = bench_core(backup, args.looks, args.latency_ms, args.workers, args.repeat)
        bench_throttled(backup, args.looks, args.latency_ms, args.workers, clean_calls, args.throttle_s)
        if not args.skip_dagster:
            bench_dagster(backup, args.looks, args.latency_ms, args.workers, args.repeat)


if __name__ == "__main__":
    main()
