"""Scenarios (A) and (B) at scale: `lookervault restore` end to end, against the core alone, as medians.

    .venv/bin/python benchmarks/scale_benchmark.py [--items 5000] [--latency-ms 100] [--repeat 3]
        [--damage 0.01] [--workers 8] [--max-workers 32] [--scenarios A B]
        [--record-on-tmpfs] [--log-dir DIR]

Each repeat builds nothing new but starts afresh: a fake Looker (in this process, so its CPU is
not the measured process's), an empty Dagster home on the embedded default (SQLite storage,
the project's dagster.yaml) and an empty id map. The backup holds the sample's users, groups,
roles and sets, 50 folders and `--items` looks.

- (A) repair: the fake holds the backup's content (same instance). `lookervault restore` once
  ("record": every item recorded, as a first restore of an unchanged instance does; with
  --record-on-tmpfs its storage is written on /dev/shm and copied to disk, setup only, not
  measured); then per repeat a fresh `--damage` share of the looks is edited in Looker and
  restored by the core alone (`restore_many` in a subprocess: "A core"), damaged again the same
  way and restored by `lookervault restore` ("A", the figure the target is about).
- (B) create: the fake holds only its seeded system content; the core alone creates everything
  ("core" row) into one fake, `lookervault restore` into another ("B" row). By default as a
  move to a new instance (`--source-instance`, ids mapped); `--b-mode same-instance` assumes the
  backup's own ids instead, so each absent look and its query are first read at their own ids
  (4 calls per look instead of 2; an instance that lost its looks still has their queries,
  which Looker never deletes, so this mode overstates the calls of a real same-instance restore).

Every measured pass is a subprocess; per pass: items/s over its wall time (process start
included), API calls per item (counted by the fake), CPU ms per item of that process (all
threads, from wait4), peak RSS of that process, and for a Dagster row "Dagster share" = 1 - core
seconds / Dagster seconds of the same repeat. The load average is printed per row: the
machine is shared, read medians.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from lookervault_core.testing.backups import build_synthetic_backup
from lookervault_core.testing.fake_looker import FakeLooker

#: (B) in `migrate` mode: the instance the backup says it came from (`--source-instance`).
B_SOURCE = "bench-source"

ROOT = Path(__file__).resolve().parent.parent
CLI = str(Path(sys.executable).parent / "lookervault")
#: What (B) creates: an empty Looker has no LookML deployed, so explores (verified, never created) are left out.
CREATE_TYPES = "permission_sets,model_sets,roles,groups,users,lookml_models,folders,looks"


@dataclass(frozen=True)
class Pass:
    """What one subprocess pass measured."""

    items: int
    seconds: float
    calls: int
    cpu_s: float
    peak_rss_mb: float
    detail: str = ""

    @property
    def items_per_s(self) -> float:
        return self.items / self.seconds


@dataclass(frozen=True)
class Measured:
    """A finished subprocess: its wall time, CPU (user + system, all threads) and peak RSS from wait4, its output."""

    seconds: float
    cpu_s: float
    peak_rss_mb: float
    out: str
    err: str
    code: int


def measured(cmd: list[str], env: dict[str, str]) -> Measured:
    """Run `cmd` to its end, reading both pipes, then reap it with wait4 for the child's own rusage."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out_file, err_file = proc.stdout, proc.stderr
    assert out_file is not None and err_file is not None
    chunks: dict[str, str] = {}
    readers = [threading.Thread(target=lambda f=f, n=n: chunks.__setitem__(n, f.read()))
               for f, n in ((out_file, "out"), (err_file, "err"))]
    for t in readers:
        t.start()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    for t in readers:
        t.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    return Measured(seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, chunks["out"], chunks["err"],
                    proc.returncode)


def _run(cmd: list[str], env: dict[str, str], fake: FakeLooker,
         log: Path | str | None = None) -> tuple[Pass, str, int]:
    """Run `cmd`; its wall time, the fake's calls, its CPU and peak RSS (wait4), stdout, exit code."""
    fake.clear_requests()
    done = measured(cmd, env)
    if log:
        Path(log).write_text(done.err)
    return (Pass(0, done.seconds, len(fake.requests), done.cpu_s, done.peak_rss_mb),
            done.out + ("" if done.code == 0 else done.err[-3000:]), done.code)


_STORAGE = {
    "postgres": "storage:\n  postgres:\n    postgres_url: {url}\n",
    # Dagster's PostgreSQL storage with the event log on one pooled connection (lookervault_pipelines/instance/pg_storage.py).
    "postgres-pooled": (
        "run_storage:\n  module: dagster_postgres.run_storage\n  class: PostgresRunStorage\n"
        "  config:\n    postgres_url: {url}\n"
        "event_log_storage:\n  module: lookervault_pipelines.instance.pg_storage\n  class: PooledPostgresEventLogStorage\n"
        "  config:\n    postgres_url: {url}\n"
        "schedule_storage:\n  module: dagster_postgres.schedule_storage\n  class: PostgresScheduleStorage\n"
        "  config:\n    postgres_url: {url}\n"),
}


def dagster_home(home: Path, args: argparse.Namespace) -> None:
    """The project's dagster.yaml in `home`/dagster, with `--storage` in PostgreSQL on a fresh database."""
    target = home / "dagster"
    target.mkdir(parents=True, exist_ok=True)
    text = (ROOT / "dagster.yaml").read_text()
    if args.storage != "sqlite":
        import psycopg

        name = f"bench_{os.getpid()}_{time.monotonic_ns()}"
        with psycopg.connect(args.postgres_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        url = args.postgres_url.rsplit("/", 1)[0] + "/" + name
        url = url.replace("postgresql://", "postgresql+psycopg2://", 1)
        # PostgreSQL storage replaces the project's SQLite event log block (Dagster refuses both).
        text = re.sub(r"(?m)^event_log_storage:\n(?:[ \t]+.*\n)*", "", text)
        text += "\n" + _STORAGE[args.storage].format(url=url)
    (target / "dagster.yaml").write_text(text)


def _env(fake: FakeLooker, home: Path, backup: Path) -> dict[str, str]:
    return {**os.environ, "DAGSTER_HOME": str(home / "dagster"), "LOOKERSDK_BASE_URL": fake.base_url,
            "LOOKERSDK_CLIENT_ID": fake.client_id, "LOOKERSDK_CLIENT_SECRET": fake.client_secret,
            "LOOKERVAULT_STATE_DIR": str(home / "state"), "LOOKERVAULT_BACKUP": str(backup)}


def cli_pass(fake: FakeLooker, home: Path, backup: Path, args: argparse.Namespace, types: str = "",
             log: Path | None | str = None, source: str | None = None) -> Pass:
    cmd = [CLI, "restore", "--backup", str(backup), "--json", "--workers", str(args.workers),
           "--max-workers", str(args.max_workers), *(["--types", types] if types else []),
           *(["--source-instance", source] if source else [])]
    measured, out, code = _run(cmd, _env(fake, home, backup), fake, log or None)
    if code != 0:
        raise SystemExit(f"lookervault restore failed ({code}):\n{out}")
    report = json.loads(out)
    totals = report["totals"]
    items = sum(v for v in totals.values())
    detail = ", ".join(f"{v} {k}" for k, v in totals.items() if v)
    return Pass(items, measured.seconds, measured.calls, measured.cpu_s, measured.peak_rss_mb, detail)


def core_pass(fake: FakeLooker, home: Path, backup: Path, args: argparse.Namespace, types: str = "",
              source: str | None = None) -> Pass:
    cmd = [sys.executable, __file__, "_core", "--backup", str(backup), "--state", str(home / "core-state"),
           "--workers", str(args.workers), "--max-workers", str(args.max_workers), "--types", types,
           *(["--source-instance", source] if source else [])]
    measured, out, code = _run(cmd, _env(fake, home, backup), fake)
    if code != 0:
        raise SystemExit(f"core pass failed ({code}):\n{out}")
    done = json.loads(out)
    return Pass(done["items"], measured.seconds, measured.calls, measured.cpu_s, measured.peak_rss_mb,
                done["detail"])


def _core_main(argv: list[str]) -> None:
    """The core alone, as a subprocess: restore_many of every item of the backup, like the CLI's selection."""
    from lookervault_core.backup import BackupReader
    from lookervault_core.content_types import ContentType
    from lookervault_core.graph import TYPE_ORDER
    from lookervault_core.idmap import IdMap
    from lookervault_core.looker import LookerSettings
    from lookervault_core.looker import connect as connect_looker
    from lookervault_core.restore import Restorer, restore_many

    parser = argparse.ArgumentParser()
    parser.add_argument("--backup")
    parser.add_argument("--state")
    parser.add_argument("--workers", type=int)
    parser.add_argument("--max-workers", type=int)
    parser.add_argument("--types", default="")
    parser.add_argument("--source-instance")
    args = parser.parse_args(argv)
    wanted = {ContentType.parse(t) for t in args.types.split(",") if t}
    settings = LookerSettings.from_env(workers=max(args.workers, args.max_workers))
    Path(args.state).mkdir(parents=True, exist_ok=True)
    with BackupReader(args.backup) as reader, connect_looker(settings) as client, \
            IdMap(Path(args.state) / "idmap.sqlite", args.source_instance or settings.instance_id,
                  settings.instance_id) as idmap:
        restorer = Restorer(client, reader, idmap)
        counts: dict[str, int] = {}
        items = 0
        for ct in TYPE_ORDER:  # type by type, as the CLI runs them
            if wanted and ct not in wanted:
                continue
            keys = [(ct, row.id) for row in reader.rows(ct) if row.id != "unknown"]
            if not keys:
                continue
            summary = restore_many(restorer, keys, workers=args.workers, max_workers=args.max_workers)
            items += summary.processed
            for k, v in summary.counts().items():
                counts[k] = counts.get(k, 0) + v
    print(json.dumps({"items": items, "detail": ", ".join(f"{v} {k}" for k, v in counts.items() if v)}))


def damage(fake: FakeLooker, looks: list[str], share: float, seed: int) -> list[str]:
    """Edit `share` of the looks in Looker (their titles), as a bad deploy or a careless user would."""
    hit = random.Random(seed).sample(looks, max(1, round(share * len(looks))))
    for look_id in hit:
        fake.put("looks", {"id": look_id, "title": f"damaged {look_id}"})
    return hit


_HEADER = (f"{'scenario':<10} {'items':>6} {'items/s':>8} {'calls/item':>10} {'CPU ms/item':>11} "
           f"{'Dagster share':>13} {'peak RSS MB':>11} {'load avg':>8}  what")


def row(name: str, passes: list[Pass], core: list[Pass] | None, load: list[float]) -> str:
    med = statistics.median
    share = "" if core is None else f"{med(1 - c.seconds / p.seconds for p, c in zip(passes, core)):.0%}"
    return (f"{name:<10} {passes[0].items:>6} {med(p.items_per_s for p in passes):>8.1f} "
            f"{med(p.calls / p.items for p in passes):>10.3f} {med(1000 * p.cpu_s / p.items for p in passes):>11.2f} "
            f"{share:>13} {max(p.peak_rss_mb for p in passes):>11.0f} {med(load):>8.2f}  {passes[-1].detail}")


def scenario_a(backup: Path, looks: list[str], args: argparse.Namespace) -> tuple[Pass | None, list[tuple[Pass, Pass]]]:
    """One record pass, then `--repeat` repairs of a fresh `--damage` share each (core alone, then the CLI)."""
    with tempfile.TemporaryDirectory() as tmp, FakeLooker(latency_ms=0) as fake:
        home = Path(tmp)
        fake.load_backup(backup)
        fake.latency_ms = args.latency_ms
        if args.record_on_tmpfs:
            # Setup only: the record pass writes one event per item; on tmpfs that takes minutes, not an
            # hour, at 50,000. Its storage is then copied to disk, where every measured pass runs.
            with tempfile.TemporaryDirectory(dir="/dev/shm") as shm:
                cli_pass(fake, Path(shm), backup, args)
                shutil.copytree(Path(shm) / "dagster", home / "dagster")
                shutil.copytree(Path(shm) / "state", home / "state")
            record = None
        else:
            record = cli_pass(fake, home, backup, args)
        repairs = []
        for n in range(args.repeat):
            hit = damage(fake, looks, args.damage, seed=n)
            core = core_pass(fake, home, backup, args)
            damage(fake, looks, args.damage, seed=n)
            repair = cli_pass(fake, home, backup, args, log=args.log_dir and Path(args.log_dir) / f"A{n}.log")
            if f"{len(hit)} updated" not in repair.detail:
                raise SystemExit(f"expected {len(hit)} updated, got {repair.detail}")
            repairs.append((core, repair))
        return record, repairs


def scenario_b(backup: Path, args: argparse.Namespace) -> tuple[Pass, Pass]:
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        source = B_SOURCE if args.b_mode == "migrate" else None
        with FakeLooker(latency_ms=args.latency_ms) as fake:
            core = core_pass(fake, home, backup, args, CREATE_TYPES, source)
        with FakeLooker(latency_ms=args.latency_ms) as fake:
            dagster_home(home, args)
            create = cli_pass(fake, home, backup, args, CREATE_TYPES, source=source)
        return core, create


def main() -> None:
    if sys.argv[1:2] == ["_core"]:
        _core_main(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=5000, help="looks in the backup")
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--damage", type=float, default=0.01, help="share of the looks edited in Looker (A)")
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--max-workers", type=int, default=32)
    parser.add_argument("--record-on-tmpfs", action="store_true", help="(A) write the record pass's events on "
                        "/dev/shm, then copy them to disk (setup only; saves an hour at 50,000)")
    parser.add_argument("--log-dir", help="keep each repair pass's log (stderr) here")
    parser.add_argument("--storage", choices=["sqlite", "postgres", "postgres-pooled"], default="sqlite",
                        help="(B) Dagster's storage: the embedded SQLite default, dagster-postgres, or "
                             "dagster-postgres with a pooled event log connection")
    parser.add_argument("--postgres-url", help="postgresql://user@host:port/db of a server where the "
                        "benchmark may create a database per pass (for --storage postgres*)")
    parser.add_argument("--scenarios", nargs="+", default=["A", "B"], choices=["A", "B"])
    parser.add_argument("--b-mode", choices=["migrate", "same-instance"], default="migrate",
                        help="(B) `migrate`: the backup came from another instance (--source-instance), as a "
                             "restore into an empty instance is; `same-instance`: ids assumed the backup's own, "
                             "so each absent look and its query are first looked for at their own ids")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        backup = build_synthetic_backup(Path(tmp) / "bench.sqlite", folders=50, looks=args.items,
                                        dashboards=0, tiles_per_dashboard=0)
        looks = [str(10001 + n) for n in range(args.items)]
        print(f"{args.items} looks (+ folders, users, groups, roles, sets), fake latency {args.latency_ms:.0f} ms "
              f"per call, workers {args.workers} -> {args.max_workers}, Dagster storage: {args.storage}, "
              f"(B) {args.b_mode}, median of {args.repeat}", flush=True)
        print(_HEADER, flush=True)
        if "A" in args.scenarios:
            record, repairs = scenario_a(backup, looks, args)
            load = [os.getloadavg()[0]]
            if record is not None:
                print(row("record", [record], None, load))
            print(row("A core", [c for c, _ in repairs], None, load))
            print(row("A", [a for _, a in repairs], [c for c, _ in repairs], load), flush=True)
        if "B" in args.scenarios:
            runs_b, load = [], []
            for _ in range(args.repeat):
                runs_b.append(scenario_b(backup, args))
                load.append(os.getloadavg()[0])
            print(row("B core", [c for c, _ in runs_b], None, load))
            print(row("B", [b for _, b in runs_b], [c for c, _ in runs_b], load), flush=True)


if __name__ == "__main__":
    main()
