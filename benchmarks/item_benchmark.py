"""Scenario (D): one item submitted through the webserver, from submit to SUCCESS.

Starts dagster-webserver and dagster-daemon on a temporary instance over a
fake Looker holding the bundled sample (the integration tests' stack,
tests/integration/conftest.py), answering each call after --latency-ms. Then,
--repeat times: the sample's dashboard 101 is deleted in the fake behind the
API's back, restore_dashboards is launched for partition 101 through GraphQL
(as the UI's "Materialize" does) and polled every 50 ms until it ends; the run
must succeed and re-create the dashboard. The first launch after start-up is
reported apart: it also starts whatever the run launcher keeps warm.

Run with `--launcher default` to compare against Dagster's DefaultRunLauncher
(this repository's dagster.yaml without its run_launcher block).

    .venv/bin/python benchmarks/item_benchmark.py [--repeat 7] [--latency-ms 100] [--launcher preloaded default]
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

DASHBOARD = "101"
TITLE = "Sales Overview"


def _without_run_launcher(text: str) -> str:
    """dagster.yaml with its top-level run_launcher block removed (Dagster's default launcher then)."""
    return re.sub(r"(?m)^run_launcher:\n(?:[ \t]+.*\n)*", "", text)


def _started_after(gql: object, run_id: str, submitted: float) -> float:
    """Seconds from submit until the run's worker started it, from the run's own record."""
    started = gql.run(run_id).get("startTime")  # type: ignore[attr-defined]
    return float(started) - submitted if started else 0.0


def measure(launcher: str, repeat: int, latency_ms: float) -> dict[str, object]:
    config = DAGSTER_YAML.read_text()
    if launcher == "default":
        config = _without_run_launcher(config)
    times: list[float] = []
    starts: list[float] = []
    first: float | None = None
    with tempfile.TemporaryDirectory(prefix="item-bench-") as tmp, \
            start_stack(Path(tmp), dagster_yaml=config, latency_ms=latency_ms) as stack:
        for i in range(repeat + 1):
            for obj in list(stack.fake.all("dashboards").values()):
                if obj.get("title") == TITLE:
                    stack.fake.remove("dashboards", str(obj["id"]))
            load = os.getloadavg()[0]
            submitted = time.time()
            clock = time.perf_counter()
            run_id = stack.gql.launch_run("restore_dashboards", tags={"dagster/partition": DASHBOARD})
            run = stack.gql.wait_run(run_id, timeout=300, poll=0.05)
            elapsed = time.perf_counter() - clock
            if run["status"] != "SUCCESS":
                raise SystemExit(f"run {run_id} ended {run['status']}:\n{stack.gql.run_errors(run_id)}")
            if not [o for o in stack.fake.all("dashboards").values() if o.get("title") == TITLE]:
                raise SystemExit(f"run {run_id} succeeded without re-creating dashboard {DASHBOARD}")
            started = _started_after(stack.gql, run_id, submitted)
            print(f"  {launcher:9} #{i}: {elapsed:5.2f} s (worker started +{started:.2f} s, "
                  f"load {load:.1f})", flush=True)
            if i == 0:
                first = elapsed
            else:
                times.append(elapsed)
                starts.append(started)
    return {"launcher": launcher, "first": first, "median": statistics.median(times), "min": min(times),
            "max": max(times), "start_median": statistics.median(starts), "n": len(times)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--launcher", nargs="+", choices=["preloaded", "default"], default=["preloaded", "default"])
    args = parser.parse_args()
    rows = [measure(launcher, args.repeat, args.latency_ms) for launcher in args.launcher]
    print(f"\n(D) one dashboard submitted through the webserver, {args.latency_ms:g} ms per call, "
          f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")
    print(f"{'launcher':10} {'first s':>8} {'median s':>9} {'min s':>6} {'max s':>6} {'to start s':>11} {'n':>3}")
    for r in rows:
        print(f"{r['launcher']:10} {r['first']:8.2f} {r['median']:9.2f} {r['min']:6.2f} {r['max']:6.2f} "
              f"{r['start_median']:11.2f} {r['n']:3}")


if __name__ == "__main__":
    main()
