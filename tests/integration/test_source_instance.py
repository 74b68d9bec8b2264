"""One source instance on every path: named once by `lookervault restore`, used by runs nobody told.

The deployment (webserver + daemon) writes to a new, empty instance whose ids
start far from the backup's. The backup is moved there by the CLI with
`--source-instance old`; after that, runs launched by `dagster job launch`
with no run config and no LOOKERVAULT_SOURCE_INSTANCE must map ids exactly as
the CLI did: a deleted dashboard comes back in its mapped folder, and the
re-sync finds nothing to create.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest

from lookervault_core.testing.fake_looker import FakeLooker

from .conftest import BIN, PROJECT, WORKSPACE, Stack, start_stack
from .test_webserver import MARKETING_FUNNEL, RUN_TIMEOUT_S, SALES_OVERVIEW, live, remove_titled, require_success

pytestmark = pytest.mark.integration

_CREATES = ("POST",)


@pytest.fixture(scope="module")
def moved(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The deployment after the sample was moved into its empty instance by the CLI, told the source once."""
    with start_stack(tmp_path_factory.mktemp("moved"), empty_destination=True) as stack:
        assert "LOOKERVAULT_SOURCE_INSTANCE" not in stack.env
        done = stack.cli("restore", "--backup", str(stack.backup), "--source-instance", "old", "--json",
                         timeout=300)
        assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
        assert len(live(stack.fake, "dashboards", SALES_OVERVIEW)) == 1
        yield stack


def _creates(fake: FakeLooker) -> list[str]:
    return [f"{r.method} {r.path}" for r in fake.requests if r.method in _CREATES and r.path != "/login"]


def _launch(stack: Stack, job: str, *extra: str) -> dict[str, Any]:
    """`dagster job launch` as the README writes it (no run config), and the run it queued, once ended."""
    before = {r["runId"] for r in stack.gql.runs(job_name=job)}
    argv = [str(BIN / "dagster"), "job", "launch", "-w", str(WORKSPACE), "-j", job, *extra]
    done = subprocess.run(argv, env=dict(stack.env), cwd=PROJECT, capture_output=True, text=True, timeout=180,
                          check=False)
    assert done.returncode == 0, f"{' '.join(argv)}\n{done.stdout}{done.stderr}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        new = [r for r in stack.gql.runs(job_name=job) if r["runId"] not in before]
        if new:
            run = stack.gql.wait_run(new[0]["runId"], timeout=RUN_TIMEOUT_S, poll=0.2)
            require_success(stack, run)
            return run
        time.sleep(0.3)
    raise AssertionError(f"no run of {job} appeared after {' '.join(argv)}")


def test_a_deleted_dashboard_launched_alone_comes_back_in_its_mapped_folder(moved: Stack) -> None:
    fake = moved.fake
    [before] = live(fake, "dashboards", SALES_OVERVIEW)
    assert int(str(before["id"])) >= 5000 and int(str(before["folder_id"])) >= 5000, before
    folders = len(fake.all("folders"))
    remove_titled(fake, "dashboards", SALES_OVERVIEW)
    fake.clear_requests()

    _launch(moved, "restore_dashboards", "--tags", json.dumps({"dagster/partition": "101"}))

    [after] = live(fake, "dashboards", SALES_OVERVIEW)
    assert after["folder_id"] == before["folder_id"]
    assert after["user_id"] == before["user_id"]
    assert len(fake.all("folders")) == folders
    assert [c for c in _creates(fake) if not c.startswith("POST /dashboard")] == []


def test_resync_launched_without_config_finds_nothing_to_create(moved: Stack) -> None:
    fake = moved.fake
    counts = {c: len(fake.all(c)) for c in ("folders", "looks", "dashboards", "users", "groups", "roles",
                                             "permission_sets", "model_sets", "scheduled_plans", "boards",
                                             "dashboard_elements")}
    fake.clear_requests()

    _launch(moved, "resync_job")

    assert _creates(fake) == []
    assert {c: len(fake.all(c)) for c in counts} == counts
    assert len(live(fake, "dashboards", MARKETING_FUNNEL)) == 1


def test_the_cli_not_told_the_source_uses_the_kept_one_and_a_contradiction_is_refused(moved: Stack) -> None:
    fake = moved.fake
    fake.clear_requests()
    again = moved.cli("restore", "--backup", str(moved.backup), timeout=300)
    assert again.returncode == 0, f"{again.stdout}\n{again.stderr}"
    assert "source instance: 'old' (recorded for this backup's content)" in again.stdout
    assert _creates(fake) == []

    told_otherwise = moved.cli("restore", "--backup", str(moved.backup), "--source-instance", "prod")
    assert told_otherwise.returncode != 0
    assert "coming from source instance 'old', and this run names 'prod'" in told_otherwise.stderr
    by_environment = subprocess.run(
        [str(BIN / "lookervault"), "retry-failed", "--backup", str(moved.backup)], cwd=PROJECT,
        env={**moved.env, "LOOKERVAULT_SOURCE_INSTANCE": "prod"}, capture_output=True, text=True, timeout=120)
    assert by_environment.returncode != 0 and "this run names 'prod'" in by_environment.stderr
    assert _creates(fake) == []
