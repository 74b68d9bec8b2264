"""The `lookervault` console script, run as a subprocess against the fake Looker."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from lookervault_core.testing.fake_looker import FakeLooker, ServerError

pytestmark = pytest.mark.integration

SAMPLE = Path(__file__).resolve().parents[2] / "lookervault_pipelines" / "sample" / "sample.sqlite"
CLI = str(Path(sys.executable).parent / "lookervault")
WRITES = {"POST", "PATCH", "PUT", "DELETE"}


@pytest.fixture
def env(tmp_path: Path) -> Iterator[tuple[FakeLooker, dict[str, str], Path]]:
    backup = tmp_path / "backup.sqlite"
    shutil.copy(SAMPLE, backup)
    with FakeLooker(strict=True) as fake:
        fake.load_backup(backup)
        environ = {
            **os.environ,
            "DAGSTER_HOME": str(tmp_path / "dagster_home"),
            "LOOKERSDK_BASE_URL": fake.base_url,
            "LOOKERSDK_CLIENT_ID": fake.client_id,
            "LOOKERSDK_CLIENT_SECRET": fake.client_secret,
        }
        yield fake, environ, backup


def lookervault(environ: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CLI, *args], env=environ, capture_output=True, text=True, timeout=300)


def test_restore_selection_then_whole_backup(env: tuple[FakeLooker, dict[str, str], Path]) -> None:
    fake, environ, backup = env
    fake.remove("dashboards", "101")
    fake.put("looks", {**fake.get("looks", "201"), "title": "edited"})  # type: ignore[dict-item]
    one = lookervault(environ, "restore", "--backup", str(backup), "--types", "dashboards", "--ids", "101", "--json")
    assert one.returncode == 0, one.stderr
    report = json.loads(one.stdout)
    assert report["totals"]["created"] == 1 and sum(report["totals"].values()) == 1
    assert fake.get("looks", "201")["title"] == "edited"  # type: ignore[index]  # not selected, untouched

    everything = lookervault(environ, "restore", "--backup", str(backup), "--json")
    assert everything.returncode == 0, everything.stderr
    report = json.loads(everything.stdout)
    updated = {r["content_type"] for r in report["runs"] if r["counts"]["updated"]}
    # The edited look, and the schedule and board that pointed at dashboard 101's old id.
    assert updated == {"looks", "scheduled_plans", "boards"}
    assert report["totals"]["updated"] == 3 and report["totals"]["failed"] == 0 and report["totals"]["created"] == 0
    assert fake.get("looks", "201")["title"] == "Orders by Month"  # type: ignore[index]
    assert backup.read_bytes() == SAMPLE.read_bytes()


def test_failures_exit_nonzero_are_listed_and_retried(env: tuple[FakeLooker, dict[str, str], Path]) -> None:
    fake, environ, backup = env
    fake.remove("dashboards", "101")
    fake.inject("POST /dashboards", ServerError(503), times=10_000)
    failed = lookervault(environ, "restore", "--backup", str(backup), "--types", "dashboards")
    assert failed.returncode == 1
    assert 'dashboard 101 "Sales Overview" (Sales): Unavailable' in failed.stdout

    letters = lookervault(environ, "dead-letters", "--json")
    assert letters.returncode == 0, letters.stderr
    [letter] = json.loads(letters.stdout)
    assert (letter["content_type"], letter["id"], letter["error_type"]) == ("dashboards", "101", "Unavailable")
    assert fake.client_secret not in letters.stdout + failed.stdout + failed.stderr

    fake.clear_faults()
    retried = lookervault(environ, "retry-failed", "--backup", str(backup), "--json")
    assert retried.returncode == 0, retried.stdout + retried.stderr
    assert json.loads(retried.stdout)["totals"]["created"] == 1
    assert json.loads(lookervault(environ, "dead-letters", "--json").stdout) == []


def test_dry_run_changes_nothing(env: tuple[FakeLooker, dict[str, str], Path]) -> None:
    fake, environ, backup = env
    fake.remove("dashboards", "101")
    fake.clear_requests()
    out = lookervault(environ, "restore", "--backup", str(backup), "--dry-run", "--json")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["totals"]["would_create"] == 1 and report["totals"]["failed"] == 0
    # The schedule and board on dashboard 101 would point at its new id.
    assert report["totals"]["would_update"] == 2
    assert not [r for r in fake.requests if r.method in WRITES and r.path != "/login"]


def test_dry_run_names_the_lookml_models_looker_lacks_before_anything_is_written(
    env: tuple[FakeLooker, dict[str, str], Path]
) -> None:
    fake, environ, backup = env
    fake.remove("lookml_models", "thelook")  # its LookML project not deployed
    fake.clear_requests()
    out = lookervault(environ, "restore", "--backup", str(backup), "--types", "looks,dashboards", "--dry-run")
    assert not [r for r in fake.requests if r.method in WRITES and r.path != "/login"]
    assert "LookML models Looker lacks (deploy their projects first): thelook (3 items)" in out.stdout, out.stdout
    as_json = lookervault(environ, "restore", "--backup", str(backup), "--types", "looks,dashboards", "--dry-run",
                          "--json")
    assert json.loads(as_json.stdout)["lacking_models"] == {"thelook": 3}


def test_partitions_sync_and_bad_backup(env: tuple[FakeLooker, dict[str, str], Path], tmp_path: Path) -> None:
    _, environ, backup = env
    synced = lookervault(environ, "partitions", "sync", "--backup", str(backup))
    assert synced.returncode == 0 and "dashboards: 2 (+2)" in synced.stdout
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not sqlite")
    bad = lookervault(environ, "restore", "--backup", str(junk))
    assert bad.returncode != 0 and "Error" in bad.stderr and "Traceback" not in bad.stderr


def test_dagster_asset_materialize_restores_one_partition(env: tuple[FakeLooker, dict[str, str], Path]) -> None:
    fake, environ, backup = env
    fake.remove("dashboards", "101")
    assert lookervault(environ, "partitions", "sync", "--backup", str(backup)).returncode == 0
    project = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [str(Path(sys.executable).parent / "dagster"), "asset", "materialize", "-m",
         "lookervault_pipelines.definitions", "--select", "dashboards", "--partition", "101"],
        env={**environ, "LOOKERVAULT_BACKUP": str(backup)}, cwd=project,
        capture_output=True, text=True, timeout=300,
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert [d["title"] for d in fake.all("dashboards").values()].count("Sales Overview") == 1


def test_one_dashboard_with_the_dependencies_looker_lacks(env: tuple[FakeLooker, dict[str, str], Path]) -> None:
    fake, environ, backup = env
    fake.remove("dashboards", "101")
    fake.remove("looks", "201")   # a tile of dashboard 101 shows it
    fake.put("folders", {**fake.get("folders", "11"), "name": "Renamed"})  # type: ignore[dict-item]
    alone = lookervault(environ, "restore", "--backup", str(backup), "--types", "dashboards", "--ids", "101")
    assert alone.returncode == 1 and "needs look 201" in alone.stdout
    both = lookervault(environ, "restore", "--backup", str(backup), "--types", "dashboards", "--ids", "101",
                       "--with-dependencies", "--json")
    assert both.returncode == 0, both.stdout + both.stderr
    report = json.loads(both.stdout)
    assert report["totals"]["created"] == 2 and report["totals"]["failed"] == 0  # the look, then the dashboard
    assert {r["content_type"] for r in report["runs"] if r["counts"]["created"]} == {"looks", "dashboards"}
    # Folder 11 exists (renamed): it is used as it is, not restored.
    assert fake.get("folders", "11")["name"] == "Renamed"  # type: ignore[index]
    assert [d["title"] for d in fake.all("dashboards").values()].count("Sales Overview") == 1


def test_snapshot_writes_a_complete_backup_and_never_a_partial_one(
    env: tuple[FakeLooker, dict[str, str], Path], tmp_path: Path
) -> None:
    from lookervault_core.backup import BackupReader
    from lookervault_core.content_types import ContentType

    fake, environ, _ = env
    out = tmp_path / "snap" / "instance.sqlite"
    taken = lookervault(environ, "snapshot", "--out", str(out))
    assert taken.returncode == 0, taken.stderr
    assert "dashboards: 2" in taken.stderr and "snapshot:" in taken.stdout  # progress on stderr, summary on stdout
    with BackupReader(out) as reader:
        assert reader.get(ContentType.LOOK, "202").data["query"]["fields"] == [  # type: ignore[index]
            "orders.created_month", "orders.count"]
        assert reader.counts()[ContentType.DASHBOARD] == 2
    before = out.read_bytes()

    refused = lookervault(environ, "snapshot", "--out", str(out))
    assert refused.returncode == 1 and "exists; use --force" in refused.stderr
    assert out.read_bytes() == before

    # Looker refuses the credentials: a clear message, exit 1, the existing file kept even with --force.
    failed = lookervault({**environ, "LOOKERSDK_CLIENT_SECRET": "wrong-secret"}, "snapshot", "--out", str(out), "--force")
    assert failed.returncode == 1 and "snapshot failed" in failed.stderr and "Traceback" not in failed.stderr
    assert out.read_bytes() == before and sorted(p.name for p in out.parent.iterdir()) == ["instance.sqlite"]
    assert "wrong-secret" not in failed.stdout + failed.stderr
    assert fake.client_secret not in taken.stdout + taken.stderr


def test_demo_keep_running_serves_the_fake_and_names_this_virtualenvs_dagster(tmp_path: Path) -> None:
    """The README's first command with `--keep-running`: the hint works as printed, the links answer."""
    import re
    import signal
    import time

    import requests

    environ = {k: v for k, v in os.environ.items() if not k.startswith(("DAGSTER_", "LOOKERSDK_", "LOOKERVAULT_"))}
    # Started with SIGINT ignored, as a non-interactive shell starts `demo --keep-running &` (and as a CI
    # worker may hand it on): Ctrl-C must stop it all the same.
    proc = subprocess.Popen([CLI, "demo", "--keep-running"], cwd=tmp_path, env=environ, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and not any(" dev " in line for line in lines):
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
        output = "".join(lines)
        [hint] = [line.strip() for line in lines if " dev -w " in line]
        dagster = str(Path(sys.executable).parent / "dagster")
        # The README's workspace, so the UI shows the demo's runs and the user's under one code location.
        assert hint.endswith(f" {dagster} dev -w {Path(__file__).resolve().parents[2] / 'workspace.yaml'}"), output
        env = dict(re.findall(r"(\w+)=(\S+)", hint.split(dagster)[0]))
        assert Path(env["DAGSTER_HOME"]).is_dir() and Path(env["LOOKERVAULT_BACKUP"]).is_file(), hint
        # The fake the runs' looker_url links point at still answers while the demo runs.
        login = requests.post(f"{env['LOOKERSDK_BASE_URL']}/api/4.0/login", timeout=10,
                              data={"client_id": env["LOOKERSDK_CLIENT_ID"],
                                    "client_secret": env["LOOKERSDK_CLIENT_SECRET"]})
        assert login.status_code == 200, login.text
        # A run started with the hint's environment alone (no run config, as from the UI it opens) restores
        # into the fake as the demo did: a dashboard deleted there comes back in the folder the demo made.
        api, auth = f"{env['LOOKERSDK_BASE_URL']}/api/4.0", {"Authorization": f"Bearer {login.json()['access_token']}"}

        def sales_overview() -> list[dict[str, object]]:
            found = requests.get(f"{api}/dashboards/search", params={"title": "Sales Overview"}, headers=auth,
                                 timeout=10)
            assert found.status_code == 200, found.text
            return list(found.json())

        [made] = sales_overview()
        assert requests.delete(f"{api}/dashboards/{made['id']}", headers=auth, timeout=10).status_code == 204
        materialize = subprocess.run(
            [dagster, "asset", "materialize", "-m", "lookervault_pipelines.definitions", "--select", "dashboards",
             "--partition", "101"], cwd=tmp_path, env={**environ, **env}, capture_output=True, text=True, timeout=240)
        assert materialize.returncode == 0, materialize.stdout + materialize.stderr
        [back] = sales_overview()
        assert back["folder_id"] == made["folder_id"] and back["id"] != made["id"]
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=30)
    assert proc.returncode == 0, output + rest
    assert "fake Looker stopped" in rest, rest


def test_demo_with_failures_shows_the_dead_letters_then_heals_them(tmp_path: Path) -> None:
    """`demo --with-failures --port N`: dashboards fail on Looker's 503s, are dead letters, then restored."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("DAGSTER_", "LOOKERSDK_", "LOOKERVAULT_"))}
    proc = subprocess.run([CLI, "demo", "--with-failures", "--port", str(port)], cwd=tmp_path, env=environ,
                          capture_output=True, text=True, timeout=300, check=False)
    out = proc.stdout
    assert proc.returncode == 0, out + proc.stderr
    assert f"fake Looker serving at http://127.0.0.1:{port};" in out
    first, _, rest = out.partition("dead letters (lookervault dead-letters)")
    letters, _, healed = rest.partition("Re-executing what failed")
    assert "dashboards: 2 failed" in first, out
    assert 'dashboard 101 "Sales Overview" (Sales): Unavailable: POST /api/4.0/dashboards: HTTP 503' in letters, out
    assert 'board 601 "Sales Hub": MissingDependency: board 601 needs dashboard 101' in letters, out
    assert "dashboards: 2 created" in healed and "boards: 1 created" in healed, out
    assert "dead letters after the re-execution:\nno failed items\n" in healed, out


def test_demo_refuses_a_bad_fault_rule_before_starting() -> None:
    proc = subprocess.run([CLI, "demo", "--fault", "POST /api/4.0/dashboards 404"], capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.returncode == 2
    assert "Invalid value for '--fault': fault rule 'POST /api/4.0/dashboards 404': '404' is not 429, a 5xx status " \
           "or drop" in proc.stderr
    assert "fake Looker serving" not in proc.stdout


def test_partitions_prune_removes_keys_a_newer_backup_no_longer_holds(
    env: tuple[FakeLooker, dict[str, str], Path], tmp_path: Path
) -> None:
    import sqlite3

    _, environ, backup = env
    assert lookervault(environ, "partitions", "sync", "--backup", str(backup)).returncode == 0
    newer = tmp_path / "newer.sqlite"
    shutil.copy(backup, newer)
    with sqlite3.connect(newer) as db:  # dashboard 102 was deleted in Looker before this backup
        assert db.execute("DELETE FROM content_items WHERE content_type = 1 AND id IN ('102', 'dashboard::102')"
                          ).rowcount == 1
    synced = lookervault(environ, "partitions", "sync", "--backup", str(newer))
    assert "dashboards: 1 (+0), 1 registered but not in this backup" in synced.stdout, synced.stdout
    dry = lookervault(environ, "partitions", "prune", "--backup", str(newer), "--dry-run", "--json")
    assert json.loads(dry.stdout) == {"dashboards": ["102"]}, dry.stdout + dry.stderr
    pruned = lookervault(environ, "partitions", "prune", "--backup", str(newer))
    assert pruned.returncode == 0 and "dashboards: 1 deleted: 102" in pruned.stdout, pruned.stdout + pruned.stderr
