"""A deployment reached from elsewhere: `lookervault restore --submit`, and Terminate of a run on another host.

The deployment is the module's webserver + daemon (conftest.py); the CLI runs
as a subprocess with a DAGSTER_HOME of its own that must stay unused, so
every run it reports was executed by the deployment.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from lookervault_core.testing.fake_looker.faults import Latency
from lookervault_pipelines.instance.workers import PID_TAG

from .conftest import BIN, DAGSTER_YAML, PROJECT, Stack, start_stack
from .graphql import tags_of
from .test_webserver import MARKETING_FUNNEL, SALES_OVERVIEW, events_of, live, remove_titled

pytestmark = pytest.mark.integration

#: Seconds between a worker's looks at its run's status (Dagster's setting; default 10).
CANCEL_POLL_S = 1


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    text = DAGSTER_YAML.read_text().replace(
        "run_monitoring:\n  enabled: true\n",
        f"run_monitoring:\n  enabled: true\n  cancellation_thread_poll_interval_seconds: {CANCEL_POLL_S}\n")
    assert "cancellation_thread_poll_interval_seconds" in text
    with start_stack(tmp_path_factory.mktemp("submit"), dagster_yaml=text) as running:
        yield running


def submit(stack: Stack, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`lookervault restore --submit URL ARGS` from a host whose own Dagster instance is not the deployment's."""
    env = {**stack.env, "DAGSTER_HOME": str(tmp_path / "cli_home")}
    return subprocess.run(
        [str(BIN / "lookervault"), "restore", "--backup", str(stack.backup), "--submit", stack.webserver_url, *args],
        env=env, cwd=PROJECT, capture_output=True, text=True, timeout=300, check=False)


def test_restore_submitted_to_the_deployment_reports_as_in_process(stack: Stack, tmp_path: Path) -> None:
    fake = stack.fake
    remove_titled(fake, "dashboards", SALES_OVERVIEW)
    remove_titled(fake, "dashboards", MARKETING_FUNNEL)
    remove_titled(fake, "folders", "Sales")  # dashboard 101's folder: 101 fails naming it, 102 is restored

    first = submit(stack, tmp_path, "--types", "dashboards", "--ids", "101,102")
    output = first.stdout + first.stderr
    assert first.returncode == 1, output
    assert "dashboards: 1 created, 1 failed" in first.stdout, output
    assert 'dashboard 101 "Sales Overview" (Sales): MissingDependency' in first.stdout, output
    assert "total: 2 items (1 created, 1 failed)" in first.stdout, output
    assert not (tmp_path / "cli_home").exists(), "the restore ran in the CLI's process, not on the deployment"
    assert len(live(fake, "dashboards", MARKETING_FUNNEL)) == 1 and not live(fake, "dashboards", SALES_OVERVIEW)
    # The deployment's dead letter, and its FAILED partition.
    letters = stack.cli_json("dead-letters", "--json", "--types", "dashboards")
    assert [d["id"] for d in letters] == ["101"], letters
    assert "101" in stack.gql.partition_statuses("dashboards").failed
    (run,) = [r for r in stack.gql.runs(job_name="restore_dashboards") if r["runId"].startswith(
        first.stdout.split("(run ")[1][:8])]
    assert tags_of(run).get("lookervault/lane") == "bulk", tags_of(run)  # tagged by the deployment's queue

    folder = submit(stack, tmp_path, "--types", "folders", "--ids", "11", "--json")
    assert folder.returncode == 0, folder.stdout + folder.stderr
    assert json.loads(folder.stdout)["totals"]["created"] == 1

    again = submit(stack, tmp_path, "--types", "dashboards", "--ids", "101,102")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "total: 2 items (1 created, 1 unchanged)" in again.stdout, again.stdout
    assert len(live(fake, "dashboards", SALES_OVERVIEW)) == 1 and len(live(fake, "dashboards", MARKETING_FUNNEL)) == 1
    assert stack.cli_json("dead-letters", "--json", "--types", "dashboards") == []


def _started(stack: Stack, run_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if events_of(stack, run_id, "ExecutionStepStartEvent"):
            return stack.gql.run(run_id)
        time.sleep(0.3)
    raise AssertionError(f"run {run_id} never started its step\n{stack.output(30)}")


def test_terminating_a_run_whose_worker_is_on_another_host_ends_it_canceled(
        stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    """The run's worker recorded on another host: no signal is sent, the worker sees CANCELING and stops.

    A local process stands at the recorded pid: it must not be touched. Run
    monitoring would end the run CANCELED only after cancel_timeout_seconds (180).
    """
    fake, gql = stack.fake, stack.gql
    fake.inject("GET /dashboards/**", Latency(20_000), times=1000)
    bystander = subprocess.Popen(["sleep", "600"])
    try:
        run_id = gql.launch_run("restore_dashboards", tags={
            "dagster/asset_partition_range_start": "101", "dagster/asset_partition_range_end": "102"})
        assert PID_TAG in tags_of(_started(stack, run_id))
        monkeypatch.setenv("DAGSTER_HOME", str(stack.home))
        with dg.DagsterInstance.get() as inst:
            inst.add_run_tags(run_id, {PID_TAG: f"another-host.example:{bystander.pid}"})
        asked = time.monotonic()
        gql.terminate_run(run_id)
        assert gql.wait_run(run_id, timeout=60, poll=0.5)["status"] == "CANCELED"
        assert time.monotonic() - asked < 60
        assert bystander.poll() is None, "a local process at the recorded pid was signalled"
    finally:
        fake.clear_faults()
        bystander.kill()
        bystander.wait()
    assert not {"101", "102"} & gql.partition_statuses("dashboards").materializing
