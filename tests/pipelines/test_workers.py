"""A `lookervault` command waiting for the bulk lane: runs whose process is gone do not hold it."""

from __future__ import annotations

import os
import shutil
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import click
import dagster as dg
import pytest

from lookervault_pipelines.cli import runs
from lookervault_pipelines.instance.lanes import BULK, LANE_TAG
from lookervault_pipelines.instance.workers import PID_TAG, START_TAG, process_tags

PROJECT_YAML = Path(__file__).resolve().parents[2] / "dagster.yaml"


@pytest.fixture
def instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dg.DagsterInstance]:
    shutil.copy(PROJECT_YAML, tmp_path / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    monkeypatch.setattr(runs, "BULK_WAIT_POLL_S", 0.05)
    with dg.DagsterInstance.get() as inst:
        yield inst


def _bulk_run(instance: dg.DagsterInstance, **tags: str) -> str:
    run = instance.add_run(dg.DagsterRun(job_name="restore_dashboards", status=dg.DagsterRunStatus.STARTED,
                                         tags={LANE_TAG: BULK, **tags}))
    return run.run_id


def _wait(instance: dg.DagsterInstance, timeout: float) -> BaseException | None:
    """What `wait_for_bulk_lane` raised for a bulk run (None: it let the run go); fails if still waiting."""
    raised: list[BaseException | None] = []

    def wait() -> None:
        try:
            runs.wait_for_bulk_lane(instance, {LANE_TAG: BULK})
            raised.append(None)
        except click.ClickException as exc:
            raised.append(exc)

    thread = threading.Thread(target=wait, daemon=True)
    thread.start()
    thread.join(timeout)
    assert raised, f"still waiting for the bulk lane after {timeout} s"
    return raised[0]


def test_a_run_whose_pid_was_reused_is_ended_and_does_not_hold_the_lane(instance: dg.DagsterInstance) -> None:
    # This process's pid, but a process started at another time: the run's own process is gone.
    reused = _bulk_run(instance, **{**process_tags(), START_TAG: "1"})
    alive = _bulk_run(instance, **process_tags())
    assert _wait(instance, timeout=10) is None
    reused_run, alive_run = instance.get_run_by_id(reused), instance.get_run_by_id(alive)
    assert reused_run is not None and reused_run.status == dg.DagsterRunStatus.FAILURE
    assert alive_run is not None and alive_run.status == dg.DagsterRunStatus.STARTED


def test_waiting_for_runs_on_another_host_is_bounded_and_says_how_to_end_them(
        instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runs, "BULK_WAIT_UNCHECKED_S", 0.5, raising=False)
    elsewhere = [_bulk_run(instance, **{PID_TAG: f"not-{socket.gethostname()}:{os.getpid()}"}) for _ in range(2)]
    error = _wait(instance, timeout=10)
    assert isinstance(error, click.ClickException)
    assert all(run_id in error.message for run_id in elsewhere) and "dagster run delete" in error.message
    assert {r.status for r in map(instance.get_run_by_id, elsewhere) if r} == {dg.DagsterRunStatus.STARTED}
