"""SIGKILL of dagster-daemon while a run it launched is restoring, then the daemon started again (issue 18).

The run's worker outlives the daemon that forked it; whatever becomes of that
run, the next run must leave each item once in Looker, nothing lost, and the
partitions MATERIALIZED with no dead letter.
"""

from __future__ import annotations

import os
import re
import signal
import time
from pathlib import Path

import pytest

from lookervault_core.backup import BackupReader
from lookervault_core.content_types import ContentType as CT
from lookervault_core.testing.fake_looker.faults import Latency

from .conftest import BIN, WORKSPACE, Stack, _start, _wait_until_ready, start_stack
from .test_webserver import (MARKETING_FUNNEL, RUN_TIMEOUT_S, SALES_OVERVIEW, _wait_for_step_start, live,
                             remove_titled, require_success)

pytestmark = pytest.mark.integration

BOTH = {"101", "102"}
RANGE = {"dagster/asset_partition_range_start": "101", "dagster/asset_partition_range_end": "102"}


def test_a_daemon_killed_mid_run_then_started_again_leaves_each_item_once(tmp_path: Path) -> None:
    with start_stack(tmp_path) as stack:
        fake, gql = stack.fake, stack.gql
        for title in (SALES_OVERVIEW, MARKETING_FUNNEL):  # each restore is a create
            remove_titled(fake, "dashboards", title)
        # Reads of dashboards are slow, so the run is mid-restore when its daemon dies.
        fake.inject("GET /dashboards/**", Latency(3_000), times=4)
        before = {r["runId"] for r in gql.runs(job_name="restore_dashboards")}
        gql.launch_run("restore_dashboards", tags=RANGE)
        run = _wait_for_step_start(stack, "restore_dashboards", before)
        assert re.search(r"Started process for run \(pid: \d+\)",
                         " ".join(e.get("message") or "" for e in gql.run_events(run["runId"])))
        daemon = stack.processes.pop()
        assert daemon.name == "dagster-daemon"
        os.kill(daemon.popen.pid, signal.SIGKILL)  # the daemon alone: what it forked lives on
        daemon.popen.wait(timeout=30)
        assert not live(fake, "dashboards", SALES_OVERVIEW) and gql.run(run["runId"])["status"] == "STARTED"
        try:
            _restart_and_check(stack, run["runId"], tmp_path)
        finally:
            daemon.stop()  # its process group: the code server and run worker it left


def _restart_and_check(stack: Stack, run_id: str, tmp_path: Path) -> None:
    fake, gql = stack.fake, stack.gql
    stack.processes.append(_start("dagster-daemon-again", [str(BIN / "dagster-daemon"), "run", "-w",
                                                            str(WORKSPACE)], stack.env, tmp_path / "logs"))
    started = time.perf_counter()
    _wait_until_ready(stack)
    first = gql.wait_run(run_id, timeout=RUN_TIMEOUT_S + 60, poll=0.5)
    print(f"\ndaemon ready again in {time.perf_counter() - started:.1f} s; the killed daemon's run ended "
          f"{first['status']}")
    assert first["status"] in ("SUCCESS", "FAILURE"), first

    fake.clear_faults()
    again = gql.wait_run(gql.launch_run("restore_dashboards", tags=RANGE), timeout=RUN_TIMEOUT_S + 60)
    require_success(stack, again)
    with BackupReader(stack.backup) as reader:
        wanted = {str(d["title"]): len(d.get("dashboard_elements") or [])  # type: ignore[arg-type]
                  for d in (reader.get(CT.DASHBOARD, i).data for i in sorted(BOTH))}
    for title, tiles in wanted.items():
        [dashboard] = live(fake, "dashboards", title)  # once: no copy, none lost
        made = [e for e in fake.all("dashboard_elements").values()
                if str(e.get("dashboard_id")) == str(dashboard["id"]) and not e.get("deleted")]
        assert len(made) == tiles, (title, made)
    status = gql.partition_statuses("dashboards")
    assert BOTH <= status.materialized and not BOTH & (status.failed | status.materializing), status
    assert stack.cli_json("dead-letters", "--json", "--types", "dashboards") == []
