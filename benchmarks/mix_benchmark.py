"""A realistic mix, same-instance repair: `lookervault restore` type by type, per-type items/s and client CPU.

    .venv/bin/python benchmarks/mix_benchmark.py [--items 5000] [--latency-ms 100] [--repeat 1]
        [--damage 0.002] [--tiles 6] [--workers 8] [--max-workers 32] [--one-command]

The backup holds the sample's sets, roles, groups and model, and `--items` items in the mix of a
real instance: 56% looks, 38% dashboards (`--tiles` tiles each: look and query tiles, one filter,
one layout), 2% folders, 2.4% scheduled plans, 1.2% users, 0.4% boards. The fake Looker (in this
process, so its CPU is not the client's) holds the backup's content (the same instance); a few
items (`--damage` of the looks and dashboards, at least one each: titles, a tile's title) are
edited in Looker before each pass. Per repeat, on a fresh Dagster home (embedded SQLite, the
project's dagster.yaml) and id map:

- "first": the first restore of that instance (every item recorded once, the damaged ones updated);
- "recorded": a fresh few damaged, and everything restored again (unchanged items record nothing).

Each pass runs twice, each time on a fresh home over a freshly loaded fake: once as one
`lookervault restore` of everything (the "all (one command)" row, the end-to-end figure), once
as one `lookervault restore --types T` subprocess per type in restore order (as the CLI runs
them). Every subprocess is measured with wait4: items/s over its wall time, CPU ms per item,
peak RSS; "net CPU" subtracts the command's fixed cost (start, imports, Dagster run, login: the
CPU of its cheapest one-item type). After each pass a dry-run restore of everything by the core
alone must find every item equal. Medians of `--repeat`.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from scale_benchmark import CLI, ROOT, _env, _run  # noqa: E402

from lookervault_core.backup import BackupReader  # noqa: E402
from lookervault_core.content_types import ContentType as CT  # noqa: E402
from lookervault_core.graph import TYPE_ORDER  # noqa: E402
from lookervault_core.idmap import IdMap  # noqa: E402
from lookervault_core.looker import LookerSettings, connect  # noqa: E402
from lookervault_core.restore import Action, Restorer, restore_many  # noqa: E402
from lookervault_core.testing.backups import build_synthetic_backup  # noqa: E402
from lookervault_core.testing.fake_looker import FakeLooker  # noqa: E402

MIX = {"looks": 0.56, "dashboards": 0.38, "folders": 0.02, "schedules": 0.024, "users": 0.012, "boards": 0.004}


def build(path: Path, items: int, tiles: int) -> Path:
    n = {k: max(1, round(v * items)) for k, v in MIX.items()}
    return build_synthetic_backup(path, folders=n["folders"], looks=n["looks"], dashboards=n["dashboards"],
                                  tiles_per_dashboard=tiles, users=n["users"], schedules=n["schedules"],
                                  boards=n["boards"])


def damage(fake: FakeLooker, backup: Path, share: float, seed: int) -> int:
    """Edit a few looks' and dashboards' titles and one tile's title in Looker, as careless users would."""
    rng = random.Random(seed)
    with BackupReader(backup) as reader:
        looks = [r.id for r in reader.rows(CT.LOOK)]
        dashboards = [r.id for r in reader.rows(CT.DASHBOARD)]
    hit = 0
    for collection, ids in (("looks", looks), ("dashboards", dashboards)):
        for item_id in rng.sample(ids, max(1, round(share * len(ids)))):
            fake.put(collection, {**(fake.get(collection, item_id) or {}), "title": f"damaged {item_id}"})
            hit += 1
    tile = f"{rng.choice(dashboards)}0000"
    fake.put("dashboard_elements", {**(fake.get("dashboard_elements", tile) or {}), "title": "damaged tile"})
    return hit


def cli_restore(fake: FakeLooker, home: Path, backup: Path, args: argparse.Namespace,
                ct: CT | None = None) -> tuple[int, float, float, float, dict[str, int]]:
    """One `lookervault restore` of everything, or of one type: items, wall s, CPU s, peak RSS MB, totals."""
    what = ["--types", ct.plural] if ct is not None else []
    cmd = [CLI, "restore", "--backup", str(backup), "--json", *what, "--workers", str(args.workers),
           "--max-workers", str(args.max_workers)]
    measured, out, code = _run(cmd, _env(fake, home, backup), fake)
    if code != 0:
        raise SystemExit(f"lookervault restore {' '.join(what)} failed ({code}):\n{out}")
    totals = {k: v for k, v in json.loads(out)["totals"].items() if v}
    return sum(totals.values()), measured.seconds, measured.cpu_s, measured.peak_rss_mb, totals


def all_equal(fake: FakeLooker, home: Path, backup: Path) -> dict[str, int]:
    """A dry-run restore of every item by the core alone, on the pass's id map: what is not equal."""
    latency, fake.latency_ms = fake.latency_ms, 0
    try:
        settings = LookerSettings(base_url=fake.base_url, client_id=fake.client_id,
                                  client_secret=fake.client_secret, workers=16)
        with BackupReader(backup) as reader, connect(settings) as client, \
                IdMap(home / "state" / "idmap.sqlite", settings.instance_id, settings.instance_id) as idmap:
            keys = [(ct, r.id) for ct in TYPE_ORDER for r in reader.rows(ct)]
            summary = restore_many(Restorer(client, reader, idmap, dry_run=True), keys, workers=16)
    finally:
        fake.latency_ms = latency
    off: dict[str, int] = {}
    for r in summary.results:
        if r.action not in (Action.UNCHANGED, Action.SKIPPED):
            off[f"{r.content_type.plural} {r.action.value}"] = off.get(f"{r.content_type.plural} {r.action.value}", 0) + 1
    for f in summary.failures:
        off[f"{f.content_type.plural} failed"] = off.get(f"{f.content_type.plural} failed", 0) + 1
    return off


def one_repeat(backup: Path, args: argparse.Namespace, seed: int) -> dict[str, dict[str, tuple]]:
    """On one fresh home the whole backup by one command per pass; on another, type by type."""
    out: dict[str, dict[str, tuple]] = {"first": {}, "recorded": {}}
    with BackupReader(backup) as reader:
        types = [ct for ct in TYPE_ORDER if any(True for _ in reader.rows(ct))]
    for by_type in (False, True)[:1 if args.one_command else 2]:
        with tempfile.TemporaryDirectory() as tmp, FakeLooker(latency_ms=0) as fake:
            home = Path(tmp)
            (home / "dagster").mkdir()
            (home / "dagster" / "dagster.yaml").write_text((ROOT / "dagster.yaml").read_text())
            fake.load_backup(backup)
            fake.latency_ms = args.latency_ms
            for n, name in enumerate(("first", "recorded")):
                damage(fake, backup, args.damage, seed * 10 + n)
                if by_type:
                    for ct in types:
                        out[name][ct.plural] = cli_restore(fake, home, backup, args, ct)
                else:
                    out[name]["all (one command)"] = cli_restore(fake, home, backup, args)
                print(f"  {name}: {[(k, v[0], round(v[1], 1)) for k, v in out[name].items()]}", file=sys.stderr, flush=True)
                off = all_equal(fake, home, backup)
                if off:
                    raise SystemExit(f"{name}: not every item equal afterwards: {off}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=5000)
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--damage", type=float, default=0.002)
    parser.add_argument("--tiles", type=int, default=6)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--max-workers", type=int, default=32)
    parser.add_argument("--one-command", action="store_true", help="only the one-command passes (no per-type rows)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        backup = build(Path(tmp) / "mix.sqlite", args.items, args.tiles)
        runs = [one_repeat(backup, args, seed) for seed in range(args.repeat)]
    med = statistics.median
    print(f"mix of {args.items} items (+ the sample's sets, roles, groups), fake at {args.latency_ms:.0f} ms per call, "
          f"workers {args.workers} -> {args.max_workers}, median of {args.repeat}, load {os.getloadavg()[0]:.2f}; "
          "every item equal after each pass")
    print(f"{'pass':<9} {'type':<18} {'items':>6} {'wall s':>7} {'items/s':>8} {'CPU ms/item':>11} "
          f"{'net CPU ms/item':>15} {'peak RSS MB':>11}")
    for name in ("first", "recorded"):
        # The fixed cost of one command (start, imports, Dagster run, login): its cheapest one-item type.
        fixed = med(min((r[2] for r in run[name].values() if r[0] <= 2), default=0.0) for run in runs)
        for t in runs[0][name]:
            rows = [run[name][t][:4] for run in runs]
            net = "" if t.startswith("all") else f"{med(1000 * max(0.0, r[2] - fixed) / max(1, r[0]) for r in rows):.2f}"
            print(f"{name:<9} {t:<18} {rows[0][0]:>6} {med(r[1] for r in rows):>7.1f} "
                  f"{med(r[0] / r[1] for r in rows):>8.1f} {med(1000 * r[2] / max(1, r[0]) for r in rows):>11.2f} "
                  f"{net:>15} {max(r[3] for r in rows):>11.0f}")

if __name__ == "__main__":
    main()
