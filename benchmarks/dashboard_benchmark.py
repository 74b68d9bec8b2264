"""Client CPU per dashboard of `lookervault restore --types dashboards`, unchanged and re-created.

    .venv/bin/python benchmarks/dashboard_benchmark.py [--dashboards 300] [--tiles 6] [--latency-ms 0]
        [--repeat 3] [--workers 8]

The fake Looker runs in a process of its own (`python -m lookervault_core.testing.fake_looker
--load`), so the measured process's CPU is the client's alone. The backup holds the sample's users
and sets, 20 folders, 300 looks and `--dashboards` dashboards of `--tiles` tiles each (half look
tiles, half query tiles), one filter and one layout (lookervault_core.testing.backups). Every
pass is `lookervault restore` as a subprocess on one Dagster home (the project's dagster.yaml,
embedded SQLite), its CPU (user + system, all threads) and peak RSS from wait4:

- "record": the first restore of the unchanged instance (every dashboard recorded once);
- "fixed": `--ids` of one dashboard, the command's fixed cost (imports, Dagster run, login);
- "unchanged": all dashboards again, found equal (no write, no event);
- "re-created": every dashboard deleted in Looker, then all restored (created with their parts).

CPU per dashboard = (pass CPU - fixed CPU) / (dashboards - 1), medians of `--repeat`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from lookervault_core.testing.backups import build_synthetic_backup  # noqa: E402
from scale_benchmark import CLI, ROOT, measured  # noqa: E402

CLIENT_ID, CLIENT_SECRET = "bench-id", "bench-secret"


@dataclass(frozen=True)
class Pass:
    seconds: float
    cpu_s: float
    peak_rss_mb: float
    totals: dict[str, int]


def run_cli(env: dict[str, str], backup: Path, *extra: str) -> Pass:
    """`lookervault restore --types dashboards` as a subprocess: wall, CPU and peak RSS (wait4), its totals."""
    done = measured([CLI, "restore", "--backup", str(backup), "--types", "dashboards", "--json", *extra], env)
    if done.code != 0:
        raise SystemExit(f"lookervault restore failed:\n{done.out}\n{done.err[-3000:]}")
    totals = json.loads(done.out)["totals"]
    return Pass(done.seconds, done.cpu_s, done.peak_rss_mb, {k: v for k, v in totals.items() if v})


def start_fake(backup: Path, latency_ms: float) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([sys.executable, "-m", "lookervault_core.testing.fake_looker", "--load", str(backup),
                             "--latency-ms", str(latency_ms), "--client-id", CLIENT_ID,
                             "--client-secret", CLIENT_SECRET], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


def delete_dashboards(url: str, ids: list[str]) -> None:
    """Delete the dashboards in Looker (DELETE /dashboards/{id}: gone, not in the Trash)."""
    import looker_sdk
    from looker_sdk.rtl import api_settings

    class Settings(api_settings.ApiSettings):
        def read_config(self) -> api_settings.SettingsConfig:
            return {"base_url": url, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                    "verify_ssl": "false"}

    sdk = looker_sdk.init40(config_settings=Settings())
    for dashboard_id in ids:
        sdk.delete_dashboard(dashboard_id)


def repeat_once(backup: Path, ids: list[str], args: argparse.Namespace) -> dict[str, Pass]:
    fake, url = start_fake(backup, args.latency_ms)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            home = Path(tmp)
            (home / "dagster").mkdir()
            (home / "dagster" / "dagster.yaml").write_text((ROOT / "dagster.yaml").read_text())
            env = {**os.environ, "DAGSTER_HOME": str(home / "dagster"), "LOOKERSDK_BASE_URL": url,
                   "LOOKERSDK_CLIENT_ID": CLIENT_ID, "LOOKERSDK_CLIENT_SECRET": CLIENT_SECRET,
                   "LOOKERVAULT_STATE_DIR": str(home / "state")}
            workers = ["--workers", str(args.workers)]
            out = {"record": run_cli(env, backup, *workers)}
            out["fixed"] = run_cli(env, backup, "--ids", ids[0], *workers)
            out["unchanged"] = run_cli(env, backup, *workers)
            delete_dashboards(url, ids)
            out["re-created"] = run_cli(env, backup, *workers)
            return out
    finally:
        fake.terminate()
        fake.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dashboards", type=int, default=300)
    parser.add_argument("--tiles", type=int, default=6)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        backup = build_synthetic_backup(Path(tmp) / "dash.sqlite", folders=20, looks=300,
                                        dashboards=args.dashboards, tiles_per_dashboard=args.tiles)
        ids = [str(100001 + n) for n in range(args.dashboards)]
        runs = [repeat_once(backup, ids, args) for _ in range(args.repeat)]
    med = statistics.median
    print(f"{args.dashboards} dashboards of {args.tiles} tiles, fake at {args.latency_ms:.0f} ms per call in its own "
          f"process, median of {args.repeat}, load {os.getloadavg()[0]:.2f}")
    print(f"{'pass':<11} {'wall s':>7} {'CPU s':>7} {'CPU ms/dash':>12} {'peak RSS MB':>11}  totals")
    for name in ("record", "fixed", "unchanged", "re-created"):
        passes = [r[name] for r in runs]
        per = "" if name == "fixed" else \
            f"{med(1000 * (r[name].cpu_s - r['fixed'].cpu_s) / (args.dashboards - 1) for r in runs):.2f}"
        print(f"{name:<11} {med(p.seconds for p in passes):>7.2f} {med(p.cpu_s for p in passes):>7.2f} {per:>12} "
              f"{max(p.peak_rss_mb for p in passes):>11.0f}  {passes[-1].totals}")


if __name__ == "__main__":
    main()
