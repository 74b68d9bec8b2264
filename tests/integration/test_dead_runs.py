"""`lookervault restore` processes killed mid-run: their runs must not hold the bulk lane for ever."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from lookervault_core.testing.fake_looker import FakeLooker
from lookervault_core.testing.fake_looker.faults import Latency
from lookervault_pipelines.cli.runs import INSTANCE_YAML
from lookervault_pipelines.instance.lanes import BULK, LANE_TAG

pytestmark = pytest.mark.integration

SAMPLE = Path(__file__).resolve().parents[2] / "lookervault_pipelines" / "sample" / "sample.sqlite"
CLI = str(Path(sys.executable).parent / "lookervault")
DASHBOARDS = dg.AssetKey("dashboards")


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[FakeLooker, dict[str, str], Path]]:
    backup = tmp_path / "backup.sqlite"
    shutil.copy(SAMPLE, backup)
    dagster_home = tmp_path / "dagster_home"
    dagster_home.mkdir()
    shutil.copy(INSTANCE_YAML, dagster_home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(dagster_home))
    with FakeLooker(strict=True) as fake:
        fake.load_backup(backup)
        environ = {**os.environ, "DAGSTER_HOME": str(dagster_home), "LOOKERSDK_BASE_URL": fake.base_url,
                   "LOOKERSDK_CLIENT_ID": fake.client_id, "LOOKERSDK_CLIENT_SECRET": fake.client_secret}
        yield fake, environ, backup


def _restore(environ: dict[str, str], backup: Path, err: Path) -> subprocess.Popen[bytes]:
    with err.open("wb") as stderr:
        return subprocess.Popen([CLI, "restore", "--backup", str(backup), "--types", "dashboards"], env=environ,
                                stdout=subprocess.DEVNULL, stderr=stderr)


def _bulk_runs(instance: dg.DagsterInstance) -> dict[str, dg.DagsterRunStatus]:
    return {r.dagster_run.run_id: r.dagster_run.status
            for r in instance.get_run_records(dg.RunsFilter(tags={LANE_TAG: BULK}))}


def _wait_started(instance: dg.DagsterInstance, known: set[str], timeout: float = 90.0) -> str:
    """The id of a bulk run not in `known` once it is STARTED."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        new = [i for i, s in _bulk_runs(instance).items() if i not in known and s == dg.DagsterRunStatus.STARTED]
        if new:
            return new[0]
        time.sleep(0.3)
    raise AssertionError(f"no new bulk run started within {timeout} s: {_bulk_runs(instance)}")


def _kill(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)


def test_three_killed_cli_runs_never_block_the_next_one(
        home: tuple[FakeLooker, dict[str, str], Path], tmp_path: Path) -> None:
    fake, environ, backup = home
    instance = dg.DagsterInstance.get()
    # Every read of a dashboard hangs, so each run (dashboards 101-102: a bulk range) is mid-restore when killed.
    fake.inject("GET /dashboards/**", Latency(60_000), times=10_000)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        first = _restore(environ, backup, tmp_path / "first.err")
        procs.append(first)
        a = _wait_started(instance, set())
        second = _restore(environ, backup, tmp_path / "second.err")
        procs.append(second)
        b = _wait_started(instance, {a})
        third = _restore(environ, backup, tmp_path / "third.err")
        procs.append(third)
        deadline = time.monotonic() + 90
        while b"waiting: 2 bulk runs" not in (tmp_path / "third.err").read_bytes():
            assert time.monotonic() < deadline and third.poll() is None, (tmp_path / "third.err").read_text()
            time.sleep(0.3)
        _kill(first)
        _kill(second)
        # Both runs in the lane are dead: the waiting restore goes ahead, and is killed mid-run too.
        c = _wait_started(instance, {a, b}, timeout=30)
        _kill(third)
    finally:
        fake.clear_faults()
        for proc in procs:
            if proc.poll() is None:
                _kill(proc)

    started = time.monotonic()
    fourth = subprocess.run([CLI, "restore", "--backup", str(backup), "--types", "dashboards"], env=environ,
                            capture_output=True, text=True, timeout=120)
    assert fourth.returncode == 0, fourth.stdout + fourth.stderr
    assert time.monotonic() - started < 60, fourth.stderr
    runs = _bulk_runs(instance)
    assert {runs[a], runs[b], runs[c]} == {dg.DagsterRunStatus.FAILURE}, runs
    [ended] = [e for e in instance.all_logs(c, of_type=dg.DagsterEventType.RUN_FAILURE)]
    assert "was killed" in (ended.message or ""), ended.message
    status = instance.get_status_by_partition(
        DASHBOARDS, ["101", "102"], dg.DynamicPartitionsDefinition(name="dashboards")) or {}
    assert set(status.values()) == {dg.AssetPartitionStatus.MATERIALIZED}, status
    # The killed runs' `looker_api` pool slots are given back, with no daemon running.
    info = instance.event_log_storage.get_concurrency_info("looker_api")
    assert not {s.run_id for s in info.claimed_slots} & {a, b, c}, info.claimed_slots
