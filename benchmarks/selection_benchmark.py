"""Scenario (E): a UI selection of 2 partitions, from launch to a finished backfill.

Starts dagster-webserver and dagster-daemon on a temporary instance over a
fake Looker holding the bundled sample (the integration tests' stack,
tests/integration/conftest.py), answering each call after --latency-ms. Then,
--repeat times: folders 12 and 13 are renamed in the fake behind the API's
back, a backfill of the `folders` asset for partitions 12 and 13 is launched
through GraphQL (`launchPartitionBackfill`, what the UI's Materialize dialog
sends for a selection of partitions) and polled every 100 ms until it ends; it
must end COMPLETED_SUCCESS with both folders' names back. Prints the median,
min and max from launch to the backfill's end, and the time until its run
existed (what the backfill daemon's cadence decides).

`--backfill-interval 2 30` compares dagster.yaml's setting with Dagster's own 30 s.

    .venv/bin/python benchmarks/selection_benchmark.py [--repeat 5] [--latency-ms 100] [--backfill-interval 2 30]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.integration.conftest import DAGSTER_YAML, start_stack  # noqa: E402

FOLDERS = ["12", "13"]


def _with_backfill_interval(text: str, seconds: float | None) -> str:
    """dagster.yaml with `backfill_interval_seconds` set to `seconds`, or removed (Dagster's 30 s) for None."""
    text = re.sub(r"(?m)^[ \t]+backfill_interval_seconds:.*\n", "", text)
    if seconds is None:
        return text
    return re.sub(r"(?m)^([ \t]+)dequeue_interval_seconds:(.*)\n",
                  lambda m: f"{m.group(0)}{m.group(1)}backfill_interval_seconds: {seconds:g}\n", text)


def measure(interval: float, repeat: int, latency_ms: float) -> dict[str, object]:
    config = _with_backfill_interval(DAGSTER_YAML.read_text(), None if interval == 30 else interval)
    times: list[float] = []
    to_run: list[float] = []
    with tempfile.TemporaryDirectory(prefix="selection-bench-") as tmp, \
            start_stack(Path(tmp), dagster_yaml=config, latency_ms=latency_ms) as stack:
        names = {k: stack.fake.get("folders", k)["name"] for k in FOLDERS}  # type: ignore[index]
        for i in range(repeat):
            for key in FOLDERS:
                stack.fake.put("folders", {**stack.fake.get("folders", key), "name": f"renamed {i}"})  # type: ignore[dict-item]
            load = os.getloadavg()[0]
            clock = time.perf_counter()
            backfill_id = stack.gql.launch_asset_backfill(["folders"], partition_names=FOLDERS)
            run_seen: float | None = None
            backfill = stack.gql.backfill(backfill_id)
            while backfill["status"] not in ("COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED",
                                             "CANCELED"):
                if run_seen is None and backfill["runs"]:
                    run_seen = time.perf_counter() - clock
                if time.perf_counter() - clock > 300:
                    raise SystemExit(f"backfill {backfill_id} still {backfill['status']} after 300 s")
                time.sleep(0.1)
                backfill = stack.gql.backfill(backfill_id)
            elapsed = time.perf_counter() - clock
            if run_seen is None:
                run_seen = elapsed
            if backfill["status"] != "COMPLETED_SUCCESS":
                raise SystemExit(f"backfill {backfill_id} ended {backfill['status']}: {backfill.get('error')}")
            back = {k: stack.fake.get("folders", k)["name"] for k in FOLDERS}  # type: ignore[index]
            if back != names:
                raise SystemExit(f"backfill {backfill_id} succeeded but the folders are {back}, not {names}")
            print(f"  interval {interval:g} s #{i}: {elapsed:5.2f} s (run existed +{run_seen:.2f} s, "
                  f"{len(backfill['runs'])} run, load {load:.1f})", flush=True)
            times.append(elapsed)
            to_run.append(run_seen)
    return {"interval": interval, "median": statistics.median(times), "min": min(times), "max": max(times),
            "run_median": statistics.median(to_run), "n": len(times)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--backfill-interval", type=float, nargs="+", default=[2.0],
                        help="backfill daemon intervals to compare (30: Dagster's own, the setting removed)")
    args = parser.parse_args()
    rows = [measure(interval, args.repeat, args.latency_ms) for interval in args.backfill_interval]
    print(f"\n(E) a backfill of 2 folder partitions launched through the webserver, {args.latency_ms:g} ms per "
          f"call, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")
    print(f"{'interval s':>10} {'median s':>9} {'min s':>6} {'max s':>6} {'to run s':>9} {'n':>3}")
    for r in rows:
        print(f"{r['interval']:10g} {r['median']:9.2f} {r['min']:6.2f} {r['max']:6.2f} {r['run_median']:9.2f} "
              f"{r['n']:3}")


if __name__ == "__main__":
    main()
